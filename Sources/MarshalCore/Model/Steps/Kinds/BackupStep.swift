import Foundation

/// `pg_dump` to a file on the database host; path, size and sha256 become evidence.
public struct BackupStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "backup", summary: "pg_dump a database to a file on its host.",
        keys: [
            StepDeclarations.database,
            KeyDeclaration("to", .template, default: "marshal-backups/RUN_ID.dump", "The dump file on the host (a relative path is in the SSH user's home there)."),
        ],
        runs: .onEachHostUsuallyDB,
        evidence: "`path`, `size`, `sha256` of the dump (use `{{ steps.ID.path }}` in a restore), `fingerprint` (row counts and schema digest, also kept as PATH.fingerprint).",
        example: """
        - id: backup
          backup: { on: db, database: "{{ secrets.database_url }}" }
        """)

    public var database: TemplateString
    public var to: TemplateString?

    public static func decode(_ map: any DecodingMap) -> BackupStep? {
        guard let database = map.template("database", required: true, expected: "a connection string, usually {{ secrets.NAME }}") else { return nil }
        return BackupStep(database: database, to: map.template("to"))
    }

    public var templates: [TemplateString] { [database, to].compactMap { $0 } }
    /// A re-run writes a new dump over the same file.
    public var isSafeToRerunByNature: Bool { true }

    /// Where a backup without `to:` goes: relative, so in the SSH user's home on the database host.
    public static func defaultPath(runId: String) -> String { "marshal-backups/\(runId).dump" }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        let path = to.map { plan.render($0).plainDisplay } ?? Self.defaultPath(runId: plan.runId)
        return "pg_dump -Fc \(plan.render(database).plainDisplay) → \(path) (path, size, sha256 recorded)"
    }

    public func commands(_ step: Step, in plan: inout PlanDescription) -> [String]? {
        let path = to.map { plan.render($0).plainValue } ?? Self.defaultPath(runId: plan.runId)
        return [plan.mask(PostgresCommands.backup(database: plan.render(database), to: path).display)]
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let (_, executor) = try await target.remote(for: step)
        return try await DatabaseRunners.backup(self, on: executor, timeout: step.timeout, context: context)
    }
}

extension StepKind {
    public static func backup(_ settings: BackupStep) -> StepKind { StepKind(settings) }
}
