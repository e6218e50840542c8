import Foundation
import MarshalCore

/// The shared journal: runs, steps, measurements and environment locks in PostgreSQL (schema
/// `marshal`), so that every operator of a team sees one history and one lock per environment.
///
/// Each method is one transaction, committed before it returns (a step boundary is one round of
/// BEGIN … COMMIT). Leases are kept with the server's clock (`now()`), so operators' clocks do not
/// matter; lock operations serialise on the lock row (`SELECT … FOR UPDATE`) after inserting it
/// with `ON CONFLICT DO NOTHING`, which makes taking the lock atomic between machines.
public final class PostgresJournal: BoundaryStore {
    /// The URL with its password masked.
    public let location: String
    private let connection: PostgresConnection
    private let liveness: ProcessLiveness

    /// Connects, creates the schema when missing and brings it up to date.
    /// - Parameter liveness: tells whether a pid of this machine is alive; runs of other machines
    ///   are judged by their lease only.
    public init(settings: PostgresSettings, liveness: ProcessLiveness) throws {
        location = settings.redacted
        connection = PostgresConnection(settings: settings)
        self.liveness = liveness
        do {
            try connection.withConnectionSync { try Self.migrate($0, location: settings.redacted) }
        } catch let failure as PostgresConnection.Failure {
            throw failure.connectionLost
                ? JournalError.unreachable(journal: location, operation: "open the journal", reason: failure.message)
                : JournalError.cannotOpen(journal: location, reason: failure.message)
        }
    }

    public convenience init(url: String, liveness: ProcessLiveness) throws {
        try self.init(settings: PostgresSettings(url: url), liveness: liveness)
    }

    private static func migrate(_ db: PostgresConnection.Session, location: String) throws {
        try db.transaction {
            try db.execute("SELECT pg_advisory_xact_lock($1::bigint)", [PostgresSchema.migrationLockKey])
            try db.execute("CREATE SCHEMA IF NOT EXISTS marshal")
            try db.execute("CREATE TABLE IF NOT EXISTS marshal.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
            let applied = Set(try db.execute("SELECT version FROM marshal.schema_migrations").compactMap { $0["version"]??.int })
            if let newest = applied.max(), newest > PostgresSchema.latest {
                throw JournalError.newerSchema(journal: location)
            }
            for migration in PostgresSchema.migrations where !applied.contains(migration.version) {
                for statement in migration.sql { try db.execute(statement) }
                try db.execute("INSERT INTO marshal.schema_migrations (version) VALUES ($1)", [String(migration.version)])
            }
        }
    }

    // MARK: Runs

    public func createRun(_ run: RunRecord) async throws {
        let params = try RunParamsJSON.encode(run.params)
        try await write("create run \(run.id)") { db in
            let inserted = try self.insertRun(db, run, params: params)
            if !inserted { throw JournalError.duplicateRun(id: run.id, journal: self.location) }
        }
    }

    public func updateRun(id: String, _ update: RunUpdate) async throws {
        try await write("update run \(id)") { db in
            let updated = try db.execute(
                """
                UPDATE marshal.runs SET status = $1, ended_at = COALESCE(to_timestamp($2::float8), ended_at),
                                        failure = COALESCE($3, failure)
                WHERE id = $4 RETURNING id
                """,
                [update.status.rawValue, update.endedAt.map(Self.time), update.failureSummary, id])
            if updated.isEmpty { throw JournalError.runNotFound(reference: id, environment: nil, journal: self.location) }
        }
    }

    public func runs(matching query: RunQuery) async throws -> [RunRecord] {
        try await write("list runs") { db in try self.fetchRuns(db, query) }
    }

    public func run(id reference: String, environment: String?) async throws -> RunRecord {
        try await write("find run \(reference)") { db in
            try RunReference.resolve(reference, environment: environment, journal: self.location) { try self.fetchRuns(db, $0.query, where: $0.condition(placeholder: "$?"), $0.arguments) }
        }
    }

    @discardableResult
    public func reconcileInterrupted() async throws -> [String] {
        try await write("mark interrupted runs") { db in
            let now = try self.serverNow(db)
            let locks = try self.fetchLocks(db)
            let running = try db.execute("SELECT \(Self.runColumns) FROM marshal.runs WHERE status = $1 FOR UPDATE",
                                         [RunRecord.Status.running.rawValue])
            var ids: [String] = []
            for row in running {
                let run = try self.decodeRun(row)
                guard let reason = RunLiveness.interruptionReason(of: run, lock: locks[run.environment], now: now, liveness: self.liveness)
                else { continue }
                try db.execute("UPDATE marshal.runs SET status = $1, failure = COALESCE(failure, $2) WHERE id = $3",
                               [RunRecord.Status.interrupted.rawValue, reason, run.id])
                ids.append(run.id)
            }
            return ids
        }
    }

    // MARK: Steps and measurements

    /// The ends of finished steps and the starts of the next ones, in one transaction and one round
    /// trip (pipelined), with the run's lock proven and extended in it. A statement that finds
    /// nothing (the lock not held, a step not there) divides by zero on purpose, which aborts the
    /// whole transaction; its index says which check failed.
    public func commitBoundary(finishes: [StepFinish], starts: [StepRecord], renewing claim: LockClaim?) async throws -> [Int] {
        guard let runId = starts.first?.runId ?? finishes.first?.runId else { return [] }
        let what = finishes.isEmpty ? "record \(starts.count) step start(s)" : "record the end of \(finishes.count) step(s) and the start of \(starts.count)"
        var statements: [(sql: String, parameters: [String?])] = []
        if let claim {
            statements.append(("""
                WITH renewed AS (
                    UPDATE marshal.locks SET lease_expires_at = date_trunc('milliseconds', now() + $1::float8 * interval '1 second')
                    WHERE environment = $2 AND run_id = $3 RETURNING 1)
                SELECT 1 / (SELECT count(*)::integer FROM renewed) AS held
                """, [Self.number(claim.lease.seconds), claim.environment, claim.runId]))
        }
        for item in finishes {
            let c = item.completion
            statements.append(("""
                WITH finished AS (
                    UPDATE marshal.steps SET status = $1, ended_at = to_timestamp($2::float8), exit_status = $3, signal = $4,
                        stdout = $5, stderr = $6, registered = $7, attempts = $8, message = $9, command = COALESCE($12, command)
                    WHERE run_id = $10 AND sequence = $11 RETURNING 1)
                SELECT 1 / (SELECT count(*)::integer FROM finished) AS found
                """,
                [c.status.rawValue, Self.time(c.endedAt), c.exitStatus.map { String($0) }, c.signal, c.stdout, c.stderr,
                 c.registeredJSON, String(c.attempts), c.message, item.runId, String(item.sequence), c.command]))
        }
        for step in starts {
            // One process writes a run's steps, so the next number is the current maximum plus one.
            statements.append(("""
                INSERT INTO marshal.steps (run_id, sequence, step_index, step_id, name, kind, phase, host, batch, status,
                    started_at, ended_at, exit_status, signal, command, stdout, stderr, registered, attempts, message)
                SELECT $1, COALESCE(MAX(sequence), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, to_timestamp($10::float8),
                    to_timestamp($11::float8), $12, $13, $14, $15, $16, $17, $18, $19
                FROM marshal.steps WHERE run_id = $1
                RETURNING sequence
                """,
                [step.runId, String(step.stepIndex), step.stepId, step.name, step.kind, step.phase.rawValue, step.host,
                 step.batch.map { String($0) }, step.status.rawValue, Self.time(step.startedAt), step.endedAt.map(Self.time),
                 step.exitStatus.map { String($0) }, step.signal, step.command, step.stdout, step.stderr, step.registeredJSON,
                 String(step.attempts), step.message]))
        }
        let outputs: [[PostgresConnection.Row]]
        do {
            let batch = statements
            outputs = try await connection.withConnection { db in try db.pipeline(batch) }
        } catch let failure as PostgresConnection.Failure {
            let lockIndex = claim == nil ? -1 : 0
            switch (failure.sqlState, failure.statement) {
            case ("22012", lockIndex?) where claim != nil:
                let current = try await lockStatus(environment: claim!.environment)
                throw JournalError.lockNotHeld(environment: claim!.environment, runId: claim!.runId, current: current, journal: location)
            case ("22012", let index?):
                let item = finishes[max(0, min(finishes.count - 1, index - (claim == nil ? 0 : 1)))]
                throw JournalError.stepNotFound(runId: item.runId, sequence: item.sequence, journal: location)
            case ("23503", _):
                throw JournalError.runNotFound(reference: runId, environment: nil, journal: location)
            default:
                throw translate(failure, "\(what) of run \(runId)")
            }
        }
        return try outputs.suffix(starts.count).map { rows in
            guard let sequence = rows.first?["sequence"]??.int else {
                throw JournalError.storageFailed(journal: location, operation: what, reason: "the server returned no sequence")
            }
            return sequence
        }
    }

    public func steps(runId: String) async throws -> [StepRecord] {
        try await write("read steps of run \(runId)") { db in
            try db.execute("SELECT \(Self.stepColumns) FROM marshal.steps WHERE run_id = $1 ORDER BY sequence", [runId])
                .map { try self.decodeStep($0) }
        }
    }

    @discardableResult
    public func recordMeasurement(_ m: MeasurementRecord) async throws -> Int {
        try await write("record measurement \(m.name) of run \(m.runId)") { db in
            try self.requireRun(db, m.runId)
            let rows = try self.insertMeasurement(db, m)
            guard let id = rows.first?["id"]??.int else {
                throw JournalError.storageFailed(journal: self.location, operation: "record measurement", reason: "the server returned no id")
            }
            return id
        }
    }

    public func measurements(runId: String) async throws -> [MeasurementRecord] {
        try await write("read measurements of run \(runId)") { db in
            try db.execute("SELECT \(Self.measurementColumns) FROM marshal.measurements WHERE run_id = $1 ORDER BY id", [runId])
                .map { try self.decodeMeasurement($0) }
        }
    }

    // MARK: Environment lock

    public func acquireLock(environment: String, holder: String, pid: Int32, runId: String, lease: Duration, message: String?)
        async throws -> LockAcquisition
    {
        try await write("take the lock of environment \(environment)") { db in
            let now = try self.serverNow(db)
            if let inserted = try self.insertLock(db, environment, holder, pid, runId, message, lease) { return .acquired(inserted) }
            guard let current = try self.fetchLock(db, environment, forUpdate: true) else {
                throw JournalError.storageFailed(journal: self.location, operation: "take the lock", reason: "the lock row vanished")
            }
            guard current.runId == runId else {
                return current.isStale(now: now, liveness: self.liveness) ? .stale(current) : .heldBy(current)
            }
            // Same run, maybe from a new process: the lock follows it, so liveness checks probe the right pid.
            try db.execute("UPDATE marshal.locks SET holder = $1, pid = $2, message = coalesce($3, message) WHERE environment = $4",
                           [holder, String(pid), message, environment])
            return .acquired(try self.extend(db, environment, runId, lease) ?? current)
        }
    }

    public func takeOverStaleLock(
        environment: String, stale: LockRecord, holder: String, pid: Int32, runId: String, lease: Duration, message: String?
    ) async throws -> LockAcquisition {
        try await write("take over the lock of environment \(environment)") { db in
            let now = try self.serverNow(db)
            if let current = try self.fetchLock(db, environment, forUpdate: true) {
                let same = current.runId == stale.runId && current.pid == stale.pid && current.holder == stale.holder
                    && abs(current.since.timeIntervalSince(stale.since)) < 0.001
                guard same, current.isStale(now: now, liveness: self.liveness) else {
                    if current.runId == runId { return .acquired(try self.extend(db, environment, runId, lease) ?? current) }
                    return current.isStale(now: now, liveness: self.liveness) ? .stale(current) : .heldBy(current)
                }
                try db.execute("DELETE FROM marshal.locks WHERE environment = $1", [environment])
            }
            guard let inserted = try self.insertLock(db, environment, holder, pid, runId, message, lease) else {
                throw JournalError.storageFailed(journal: self.location, operation: "take over the lock", reason: "the lock row reappeared")
            }
            return .acquired(inserted)
        }
    }

    @discardableResult
    public func renewLock(environment: String, runId: String, lease: Duration) async throws -> LockRecord {
        try await write("renew the lock of environment \(environment)") { db in
            if let renewed = try self.extend(db, environment, runId, lease) { return renewed }
            let current = try self.fetchLock(db, environment, forUpdate: false)
            throw JournalError.lockNotHeld(environment: environment, runId: runId, current: current, journal: self.location)
        }
    }

    @discardableResult
    public func releaseLock(environment: String, runId: String) async throws -> Bool {
        try await write("release the lock of environment \(environment)") { db in
            !(try db.execute("DELETE FROM marshal.locks WHERE environment = $1 AND run_id = $2 RETURNING run_id", [environment, runId])).isEmpty
        }
    }

    @discardableResult
    public func forceReleaseLock(environment: String) async throws -> LockRecord? {
        try await write("release the lock of environment \(environment)") { db in
            try db.execute("DELETE FROM marshal.locks WHERE environment = $1 RETURNING \(Self.lockColumns)", [environment])
                .first.map { try self.decodeLock($0) }
        }
    }

    public func lockStatus(environment: String) async throws -> LockRecord? {
        try await write("read the lock of environment \(environment)") { db in try self.fetchLock(db, environment, forUpdate: false) }
    }

    public func currentTime() async throws -> Date {
        try await write("read the server's clock") { db in try self.serverNow(db) }
    }

    // MARK: Rows

    /// False when a run with that id exists.
    private func insertRun(_ db: PostgresConnection.Session, _ run: RunRecord, params: String) throws -> Bool {
        let inserted = try db.execute(
            """
            INSERT INTO marshal.runs (id, runbook, runbook_path, environment, params, inputs, status, started_at, ended_at,
                                      operator, pid, kind, parent_run_id, failure)
            VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8::float8), to_timestamp($9::float8), $10, $11, $12, $13, $14)
            ON CONFLICT (id) DO NOTHING RETURNING id
            """,
            [run.id, run.runbook, run.runbookPath, run.environment, params, run.inputsJSON, run.status.rawValue,
             Self.time(run.startedAt), run.endedAt.map(Self.time), run.operatorName, String(run.pid), run.kind.rawValue,
             run.parentRunId, run.failureSummary])
        return !inserted.isEmpty
    }

    private func insertMeasurement(_ db: PostgresConnection.Session, _ m: MeasurementRecord) throws -> [PostgresConnection.Row] {
        let rows = try db.execute(
            """
            INSERT INTO marshal.measurements (run_id, step_sequence, host, kind, name, outcome, expectation, value, unit,
                                              payload, recorded_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, to_timestamp($11::float8)) RETURNING id
            """,
            [m.runId, m.stepSequence.map { String($0) }, m.host, m.kind, m.name, m.outcome?.rawValue, m.expectation,
             m.value.map { Self.number($0) }, m.unit, m.payloadJSON, Self.time(m.recordedAt)])
        return rows
    }

    /// Copies a whole run (from another store or the spool) in one transaction; false when the
    /// store already has a run with that id (copying again changes nothing).
    public func importRun(_ run: RunRecord, steps: [StepRecord], measurements: [MeasurementRecord]) async throws -> Bool {
        let params = try RunParamsJSON.encode(run.params)
        return try await write("import run \(run.id)") { db in
            guard try self.insertRun(db, run, params: params) else { return false }
            for step in steps {
                try db.execute(
                    """
                    INSERT INTO marshal.steps (run_id, sequence, step_index, step_id, name, kind, phase, host, batch, status,
                        started_at, ended_at, exit_status, signal, command, stdout, stderr, registered, attempts, message)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, to_timestamp($11::float8), to_timestamp($12::float8), $13, $14,
                        $15, $16, $17, $18, $19, $20)
                    """,
                    [step.runId, String(step.sequence), String(step.stepIndex), step.stepId, step.name, step.kind, step.phase.rawValue,
                     step.host, step.batch.map { String($0) }, step.status.rawValue, Self.time(step.startedAt), step.endedAt.map(Self.time),
                     step.exitStatus.map { String($0) }, step.signal, step.command, step.stdout, step.stderr, step.registeredJSON,
                     String(step.attempts), step.message])
            }
            for m in measurements { _ = try self.insertMeasurement(db, m) }
            return true
        }
    }

    // MARK: Queries

    /// `extra` uses `$?` for its parameters; they are numbered here, after the query's own.
    private func fetchRuns(_ db: PostgresConnection.Session, _ query: RunQuery, where extra: String? = nil,
                           _ extraArguments: [String] = []) throws -> [RunRecord] {
        var conditions: [String] = []
        var arguments: [String?] = []
        func bind(_ value: String) -> String {
            arguments.append(value)
            return "$\(arguments.count)"
        }
        if let extra {
            var clause = extra
            for value in extraArguments {
                if let range = clause.range(of: "$?") { clause.replaceSubrange(range, with: bind(value)) }
            }
            conditions.append(clause)
        }
        if let environment = query.environment { conditions.append("environment = \(bind(environment))") }
        if let runbook = query.runbook { conditions.append("runbook = \(bind(runbook))") }
        if let kinds = query.kinds {
            conditions.append(kinds.isEmpty ? "false" : "kind IN (\(kinds.map(\.rawValue).sorted().map(bind).joined(separator: ", ")))")
        }
        if let excluding = query.excluding { conditions.append("id <> \(bind(excluding))") }
        // The shown status of a stored `running` run is decided after reading; filter on it afterwards.
        let decidedAfterRead = query.statusDecidedAfterRead
        if var statuses = query.statuses {
            if statuses.contains(.interrupted) { statuses.insert(.running) }
            conditions.append(statuses.isEmpty ? "false" : "status IN (\(statuses.map(\.rawValue).sorted().map(bind).joined(separator: ", ")))")
        }
        var sql = "SELECT \(Self.runColumns) FROM marshal.runs"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY started_at DESC, created DESC"
        if let limit = query.limit, !decidedAfterRead { sql += " LIMIT \(bind(String(max(0, limit))))::integer" }

        let now = try serverNow(db)
        let read = try db.execute(sql, arguments).map { try decodeRun($0) }
        return query.shown(read, locks: try fetchLocks(db), now: now, liveness: liveness)
    }

    private func requireRun(_ db: PostgresConnection.Session, _ id: String) throws {
        if try db.execute("SELECT 1 AS one FROM marshal.runs WHERE id = $1", [id]).isEmpty {
            throw JournalError.runNotFound(reference: id, environment: nil, journal: location)
        }
    }

    private func serverNow(_ db: PostgresConnection.Session) throws -> Date {
        guard let now = try db.execute("SELECT extract(epoch FROM now())::float8 AS now").first?["now"]??.double else {
            throw JournalError.storageFailed(journal: location, operation: "read the server's clock", reason: "no answer")
        }
        return Date(timeIntervalSince1970: now)
    }

    private func fetchLock(_ db: PostgresConnection.Session, _ environment: String, forUpdate: Bool) throws -> LockRecord? {
        try db.execute("SELECT \(Self.lockColumns) FROM marshal.locks WHERE environment = $1\(forUpdate ? " FOR UPDATE" : "")", [environment])
            .first.map { try decodeLock($0) }
    }

    private func fetchLocks(_ db: PostgresConnection.Session) throws -> [String: LockRecord] {
        var locks: [String: LockRecord] = [:]
        for row in try db.execute("SELECT \(Self.lockColumns) FROM marshal.locks") {
            let lock = try decodeLock(row)
            locks[lock.environment] = lock
        }
        return locks
    }

    /// The new lock when the environment had none; nil when a row exists (held by someone, maybe this run).
    private func insertLock(_ db: PostgresConnection.Session, _ environment: String, _ holder: String, _ pid: Int32,
                            _ runId: String, _ message: String?, _ lease: Duration) throws -> LockRecord? {
        try db.execute(
            """
            INSERT INTO marshal.locks (environment, holder, pid, run_id, since, lease_expires_at, message)
            VALUES ($1, $2, $3, $4, date_trunc('milliseconds', now()), date_trunc('milliseconds', now() + $5::float8 * interval '1 second'), $6)
            ON CONFLICT (environment) DO NOTHING
            RETURNING \(Self.lockColumns)
            """,
            [environment, holder, String(pid), runId, Self.number(lease.seconds), message]
        ).first.map { try decodeLock($0) }
    }

    /// Extends this run's lease from the server's now; nil when the run does not hold the lock.
    private func extend(_ db: PostgresConnection.Session, _ environment: String, _ runId: String, _ lease: Duration) throws -> LockRecord? {
        try db.execute(
            """
            UPDATE marshal.locks SET lease_expires_at = date_trunc('milliseconds', now() + $1::float8 * interval '1 second')
            WHERE environment = $2 AND run_id = $3 RETURNING \(Self.lockColumns)
            """,
            [Self.number(lease.seconds), environment, runId]
        ).first.map { try decodeLock($0) }
    }

    // MARK: Access

    /// One operation: one transaction on the connection's own queue, failures as `JournalError`.
    private func write<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (PostgresConnection.Session) throws -> T) async throws -> T {
        do {
            return try await connection.withConnection { db in try db.transaction { try body(db) } }
        } catch let failure as PostgresConnection.Failure {
            throw translate(failure, operation)
        }
    }

    private func translate(_ failure: PostgresConnection.Failure, _ operation: String) -> JournalError {
        if failure.connectionLost { return .unreachable(journal: location, operation: operation, reason: failure.message) }
        switch failure.sqlState {
        // lock_not_available (lock_timeout), query_canceled (statement_timeout), serialization/deadlock.
        case "55P03", "57014", "40001", "40P01": return .busy(journal: location, operation: operation)
        // Connection exceptions and "the server is shutting down" (admin_shutdown, crash_shutdown, cannot_connect_now).
        case let state? where state.hasPrefix("08") || state.hasPrefix("57P"):
            return .unreachable(journal: location, operation: operation, reason: failure.message)
        default: return .storageFailed(journal: location, operation: operation, reason: failure.message)
        }
    }
}

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
