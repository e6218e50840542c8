/// Apply SQL migrations from a directory in name order, recording which were applied.
public struct MigrateStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "migrate", summary: "Apply the .sql files of a folder in name order, each once, recorded in marshal_migrations.",
        keys: [
            KeyDeclaration("dir", .template, required: true, "The folder of .sql migrations (on the host)."),
            StepDeclarations.database,
            KeyDeclaration("transaction", .choice(MigrateStep.Transaction.allCases.map(\.rawValue)), default: "all",
                           "all: every pending file in one transaction (nothing applied unless all are); per-file: one each."),
            KeyDeclaration("table", .string, default: "marshal_migrations", "The bookkeeping table (schema.table allowed)."),
        ],
        runs: .onEachHostUsuallyDB,
        evidence: "`applied` (file names), `count`, `pending_before`, `skipped`, `pending_after`, `table`, `transaction` (also when it fails).",
        undo: "Only what its `undo` step does (typically `restore` from the backup step).",
        example: """
        - migrate: { on: db, dir: migrations/, database: "{{ secrets.database_url }}" }
          undo: { restore: { on: db, from: "{{ steps.backup.path }}", database: "{{ secrets.database_url }}" } }
        """)

    /// `all`: every pending file and its bookkeeping row in one transaction (nothing applied
    /// unless everything is); `per-file`: one transaction per file, so a failure leaves the
    /// earlier files committed (the step's undo then runs for the failed step).
    public enum Transaction: String, Sendable, Hashable, CaseIterable { case all, perFile = "per-file" }
    public var directory: TemplateString
    public var database: TemplateString
    public var transaction: Transaction = .all
    /// The bookkeeping table (`schema.table` allowed).
    public var table: String = MigrateStep.defaultTable
    public static let defaultTable = "marshal_migrations"
    public static func decode(_ map: any DecodingMap) -> MigrateStep? {
        let dir = map.template("dir", required: true, expected: "the directory of .sql migrations")
        let database = map.template("database", required: true, expected: "a connection string, usually {{ secrets.NAME }}")
        let transaction = map.choice("transaction", as: Transaction.self) ?? .all
        var table = defaultTable
        if let given = map.string("table") {
            // An SQL identifier, optionally schema-qualified: it is spliced into SQL, not bound.
            if given.range(of: #"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$"#, options: .regularExpression) == nil {
                map.error("'table' must be a table name (letters, digits, _; optionally schema.table), got '\(given)'", at: map.at("table"))
            } else {
                table = given
            }
        }
        guard let dir, let database else { return nil }
        return MigrateStep(directory: dir, database: database, transaction: transaction, table: table)
    }

    public var templates: [TemplateString] { [directory, database] }
    /// Each file commits with its bookkeeping row, so a re-run applies exactly what is still pending.
    public var isSafeToRerunByNature: Bool { true }
    /// Per-file may have committed some files before failing, so its undo runs by default;
    /// `transaction: all` commits nothing unless everything is.
    public var undoesOnFailureByDefault: Bool { transaction == .perFile }
    public func undoesFailure(evidence: ConfigValue?) -> Bool {
        if case .number(let count)? = evidence?["count"] { return count > 0 }
        return true
    }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        "apply \(plan.render(directory).plainDisplay)/*.sql in name order to \(plan.render(database).plainDisplay) (one transaction per file, recorded in marshal_migrations)"
    }

    public func commands(_ step: Step, in plan: inout PlanDescription) -> [String]? {
        [plan.mask(PostgresCommands.migrate(directory: plan.render(directory).plainValue, database: plan.render(database),
                                            transaction: transaction, table: table).display)]
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let (_, executor) = try await target.remote(for: step)
        return try await DatabaseRunners.migrate(self, on: executor, timeout: step.timeout, context: context)
    }
}

extension StepKind {
    public static func migrate(_ settings: MigrateStep) -> StepKind { StepKind(settings) }
}
