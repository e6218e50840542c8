/// Capistrano-style release: `PATH/releases/<id>/`, `PATH/current` switched atomically, `keep` kept.
public struct ReleaseStep: Sendable, Hashable {
    public var artifact: TemplateString
    public var path: TemplateString
    public var releaseID: TemplateString?
    public var keep: Int
    public init(artifact: TemplateString, path: TemplateString, releaseID: TemplateString? = nil, keep: Int = 5) {
        self.artifact = artifact
        self.path = path
        self.releaseID = releaseID
        self.keep = keep
    }
}

public struct ServiceStep: Sendable, Hashable {
    public enum Manager: String, Sendable, Hashable, CaseIterable { case pm2, systemd, supervisor }
    public enum Action: String, Sendable, Hashable, CaseIterable { case start, stop, restart, reload, status }
    /// A manager name, or a template such as `{{ vars.process_manager }}` checked when rendered.
    public var manager: TemplateString
    public var action: Action
    public var name: TemplateString
    /// supervisor's config file, for `supervisorctl -c`.
    public var config: TemplateString?
    public init(manager: TemplateString, action: Action, name: TemplateString, config: TemplateString? = nil) {
        self.manager = manager
        self.action = action
        self.name = name
        self.config = config
    }
}

/// Apply SQL migrations from a directory in name order, recording which were applied.
public struct MigrateStep: Sendable, Hashable {
    /// `all`: every pending file and its bookkeeping row in one transaction (nothing applied
    /// unless everything is); `per-file`: one transaction per file, so a failure leaves the
    /// earlier files committed (the step's undo then runs for the failed step).
    public enum Transaction: String, Sendable, Hashable, CaseIterable { case all, perFile = "per-file" }
    public var directory: TemplateString
    public var database: TemplateString
    public var transaction: Transaction
    /// The bookkeeping table (`schema.table` allowed).
    public var table: String
    public static let defaultTable = "marshal_migrations"
    public init(directory: TemplateString, database: TemplateString, transaction: Transaction = .all, table: String = MigrateStep.defaultTable) {
        self.directory = directory
        self.database = database
        self.transaction = transaction
        self.table = table
    }
}

/// `pg_dump` to a file on the database host; path, size and sha256 become evidence.
public struct BackupStep: Sendable, Hashable {
    public var database: TemplateString
    public var to: TemplateString?
    public init(database: TemplateString, to: TemplateString? = nil) {
        self.database = database
        self.to = to
    }
}

public struct RestoreStep: Sendable, Hashable {
    public var from: TemplateString
    public var database: TemplateString?
    public init(from: TemplateString, database: TemplateString? = nil) {
        self.from = from
        self.database = database
    }
}
