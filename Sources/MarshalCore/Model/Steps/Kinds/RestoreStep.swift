/// Restore a dump exactly: drop every user schema, pg_restore, check the backup's fingerprint.
public struct RestoreStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "restore", summary: "Restore a dump exactly: drop every user schema, pg_restore, check the backup's fingerprint.",
        keys: [
            KeyDeclaration("from", .template, required: true, "The dump file, e.g. `{{ steps.backup.path }}`."),
            KeyDeclaration("database", .template, "Connection string to restore into."),
        ],
        runs: .onEachHostUsuallyDB,
        evidence: "`fingerprint`, `expected` (the backup's), `verified`; a mismatch fails the step.",
        example: """
        - restore: { on: db, from: /var/backups/app.dump, database: "{{ secrets.database_url }}" }
        """)

    public var from: TemplateString
    public var database: TemplateString?

    public static func decode(_ map: any DecodingMap) -> RestoreStep? {
        guard let from = map.template("from", required: true, expected: "the backup file, e.g. {{ steps.backup.path }}") else { return nil }
        return RestoreStep(from: from, database: map.template("database"))
    }

    public var templates: [TemplateString] { [from, database].compactMap { $0 } }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        "pg_restore \(plan.render(from).plainDisplay) → \(database.map { plan.render($0).plainDisplay } ?? "the backup's database")"
    }

    public func commands(_ step: Step, in plan: inout PlanDescription) -> [String]? {
        guard let database else { return nil }
        return [plan.mask(PostgresCommands.restore(from: plan.render(from).plainValue, database: plan.render(database)).display)]
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let (_, executor) = try await target.remote(for: step)
        return try await DatabaseRunners.restore(self, on: executor, timeout: step.timeout, context: context)
    }
}

extension StepKind {
    public static func restore(_ settings: RestoreStep) -> StepKind { StepKind(settings) }
}
