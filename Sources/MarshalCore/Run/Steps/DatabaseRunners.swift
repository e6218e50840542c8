/// `backup`, `restore` and `migrate` on a PostgreSQL host, with their evidence.
enum DatabaseRunners {
    static func backup(_ backup: BackupStep, on executor: any RemoteExecutor, timeout: Duration?, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let database = try context.render(backup.database)
        let path = try backup.to.map { (t: TemplateString) throws(StepFailure) in try context.render(t).plainValue }
            ?? BackupStep.defaultPath(runId: context.runId)
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
        let fingerprint = prefixed("fingerprint=", in: result.stdoutText)
        outcome.evidence = .record(["path": .string(recordedPath), "size": .number(size), "sha256": .string(sha),
                                    "fingerprint": .list(fingerprint.map { .string($0) })])
        outcome.message = "backup \(recordedPath): \(Int(size)) bytes, sha256 \(sha.prefix(12))…, \(fingerprint.count - 1) tables fingerprinted"
        outcome.measurements.append(.init(kind: .backup, name: recordedPath, outcome: .passed, value: size, unit: "bytes",
                                          payloadJSON: Evidence.json(BackupEvidence(path: recordedPath, sha256: sha))))
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
            throw StepFailure("restore needs 'database' (the connection string to restore into)", at: restore.from.location)
        }
        let database = try context.render(databaseTemplate)
        var (outcome, result) = await RemoteCommand.run(PostgresCommands.restore(from: from, database: database), on: executor,
                                                        timeout: timeout, context: context)
        outcome.command = "restore \(from) → \(database.plainDisplay) (drop every user schema, pg_restore, compare fingerprints)"
        guard let result, outcome.status == .succeeded else { return outcome }
        let actual = prefixed("fingerprint=", in: result.stdoutText)
        let expected = prefixed("expected=", in: result.stdoutText)
        outcome.evidence = .record(["path": .string(from), "fingerprint": .list(actual.map { .string($0) }),
                                    "expected": .list(expected.map { .string($0) }), "verified": .bool(!expected.isEmpty && actual == expected)])
        if expected.isEmpty {
            outcome.status = .failed
            outcome.message = "restored \(from), but cannot verify it: no fingerprint was kept with the backup (\(from).fingerprint)"
        } else if actual != expected {
            outcome.status = .failed
            let differences = Array(Set(actual).symmetricDifference(expected)).sorted()
            outcome.message = "RESTORE MISMATCH: \(from) was restored but the database differs from the backup's fingerprint: "
                + differences.prefix(4).joined(separator: "; ") + (differences.count > 4 ? " and \(differences.count - 4) more" : "")
        } else {
            outcome.message = "restored \(from); fingerprint matches the backup (\(actual.count - 1) tables and the schema digest)"
        }
        return outcome
    }

    /// Lines of `text` that start with `prefix`, without it.
    static func prefixed(_ prefix: String, in text: String) -> [String] {
        text.split(separator: "\n").compactMap { $0.hasPrefix(prefix) ? String($0.dropFirst(prefix.count)) : nil }
    }

    static func migrate(_ migrate: MigrateStep, on executor: any RemoteExecutor, timeout: Duration?, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let directory = try context.render(migrate.directory).plainValue
        let database = try context.render(migrate.database)
        var (outcome, result) = await RemoteCommand.run(
            PostgresCommands.migrate(directory: directory, database: database, transaction: migrate.transaction, table: migrate.table),
            on: executor, timeout: timeout, context: context)
        outcome.command = "migrate \(directory)/*.sql → \(database.plainDisplay) (transaction: \(migrate.transaction.rawValue), table \(migrate.table))"
        guard let result else { return outcome }
        // Status before (skipped = applied earlier, pending) and after (applied by this step),
        // recorded also when the step failed: a per-file migrate may have committed some files.
        let output = result.stdoutText
        let applied = prefixed("applied ", in: output)
        let pending = prefixed("pending ", in: output)
        let skipped = prefixed("skipped ", in: output)
        let notApplied = pending.filter { !applied.contains($0) }
        outcome.evidence = .record([
            "applied": .list(applied.map { .string($0) }), "count": .number(Double(applied.count)),
            "pending_before": .list(pending.map { .string($0) }), "skipped": .list(skipped.map { .string($0) }),
            "pending_after": .list(notApplied.map { .string($0) }), "table": .string(migrate.table),
            "transaction": .string(migrate.transaction.rawValue),
        ])
        if outcome.status == .succeeded {
            outcome.message = applied.isEmpty ? "no new migrations (\(skipped.count) applied before)" : "applied \(applied.joined(separator: ", "))"
        } else {
            let committed = applied.isEmpty ? "nothing committed" + (migrate.transaction == .all ? " (one transaction: rolled back)" : "")
                : "committed before the failure: \(applied.joined(separator: ", "))"
            outcome.message = (outcome.message ?? "failed") + "; \(committed); not applied: \(notApplied.joined(separator: ", "))"
        }
        return outcome
    }
}
