/// `backup`, `restore` and `migrate` on a PostgreSQL host, with their evidence.
enum DatabaseRunners {
    static func backup(_ backup: BackupStep, on executor: any RemoteExecutor, timeout: Duration?, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let database = try context.render(backup.database)
        let path = try backup.to.map { (t: TemplateString) throws(StepFailure) in try context.render(t).plainValue }
            ?? "marshal-backups/\(context.runId).dump"
        let command = PostgresCommands.backup(database: database, to: path)
        var (outcome, result) = await RemoteCommand.run(command, on: executor, timeout: timeout, context: context)
        outcome.command = "pg_dump -Fc \(database.plainDisplay) → \(path)"
        guard let result, outcome.status == .succeeded else {
            if let result, let readiness = Self.readiness(after: result) { outcome.message = Self.failedDump(readiness, result: result, path: path) }
            return outcome
        }
        var fields: [String: String] = [:]
        for line in result.stdoutText.split(separator: "\n") {
            if let eq = line.firstIndex(of: "=") { fields[String(line[..<eq])] = String(line[line.index(after: eq)...]) }
        }
        guard let recordedPath = fields["path"], let size = fields["size"].flatMap(Double.init), let sha = fields["sha256"] else {
            outcome.status = .failed
            outcome.message = "backup finished but did not report its path, size and sha256"
            return outcome
        }
        outcome.evidence = .record(["path": .string(recordedPath), "size": .number(size), "sha256": .string(sha)])
        outcome.message = "backup \(recordedPath): \(Int(size)) bytes, sha256 \(sha.prefix(12))…"
        outcome.measurements.append(.init(kind: "backup", name: recordedPath, outcome: .passed, value: size, unit: "bytes",
                                          payloadJSON: "{\"path\":\(JSONText.quote(recordedPath)),\"sha256\":\(JSONText.quote(sha))}"))
        return outcome
    }

    /// pg_isready's exit status, printed by the backup command when pg_dump failed.
    static func readiness(after result: CommandResult) -> Int? {
        result.stdoutText.split(separator: "\n").last { $0.hasPrefix(PostgresCommands.readinessPrefix) }
            .flatMap { Int($0.dropFirst(PostgresCommands.readinessPrefix.count)) }
    }

    /// A failed dump, worded by its cause: a server that no longer answers is named as such
    /// (pg_dump's own last line is often a secondary error), and the partial file is gone.
    static func failedDump(_ readiness: Int, result: CommandResult, path: String) -> String {
        let detail = RemoteCommand.lastLine(result.stderr).map { " (pg_dump: \($0))" } ?? ""
        let cause: String
        switch readiness {
        case 0: cause = "pg_dump failed"
        case 1: cause = "lost the connection to PostgreSQL: the server is rejecting connections (shutting down or starting up)"
        case 2: cause = "lost the connection to PostgreSQL: the server no longer answers"
        default: cause = "pg_dump failed and the server could not be checked"
        }
        return "backup failed: \(cause)\(detail); no dump was left at \(path)"
    }

    static func restore(_ restore: RestoreStep, on executor: any RemoteExecutor, timeout: Duration?, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let from = try context.render(restore.from).plainValue
        guard let databaseTemplate = restore.database else {
            throw StepFailure("\(restore.from.location): restore needs 'database' (the connection string to restore into)")
        }
        let database = try context.render(databaseTemplate)
        var (outcome, _) = await RemoteCommand.run(PostgresCommands.restore(from: from, database: database), on: executor,
                                                   timeout: timeout, context: context)
        outcome.command = "pg_restore \(from) → \(database.plainDisplay)"
        if outcome.status == .succeeded { outcome.message = "restored \(from)" }
        return outcome
    }

    static func migrate(_ migrate: MigrateStep, on executor: any RemoteExecutor, timeout: Duration?, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let directory = try context.render(migrate.directory).plainValue
        let database = try context.render(migrate.database)
        var (outcome, result) = await RemoteCommand.run(PostgresCommands.migrate(directory: directory, database: database),
                                                        on: executor, timeout: timeout, context: context)
        outcome.command = "migrate \(directory)/*.sql → \(database.plainDisplay)"
        guard let result, outcome.status == .succeeded else { return outcome }
        let applied = result.stdoutText.split(separator: "\n").compactMap { line -> String? in
            line.hasPrefix("applied ") ? String(line.dropFirst("applied ".count)) : nil
        }
        outcome.evidence = .record(["applied": .list(applied.map { .string($0) }), "count": .number(Double(applied.count))])
        outcome.message = applied.isEmpty ? "no new migrations" : "applied \(applied.joined(separator: ", "))"
        return outcome
    }
}
