import Foundation
import GRDB
import MarshalCore

#if canImport(Glibc)
import Glibc
#endif

/// The embedded journal: one SQLite file, `<directory>/journal.sqlite`, in WAL mode with
/// `synchronous = FULL`, so every committed write survives `kill -9` and power loss.
///
/// Each method is one transaction, committed before it returns. Several processes may open the same
/// file: writes take SQLite's write lock up front (`BEGIN IMMEDIATE`) and wait up to `busyTimeout`
/// for it, which is what makes lock acquisition atomic between processes.
public final class SQLiteJournal: BoundaryStore {
    public static let fileName = "journal.sqlite"

    /// Path of the SQLite file.
    public let location: String
    private let database: DatabaseQueue
    private let clock: @Sendable () -> Date
    private let liveness: ProcessLiveness

    /// Opens (creating when missing) the journal in `directory` and brings its schema up to date.
    /// - Parameters:
    ///   - clock: the store's time, for leases and for deciding that a run is dead.
    ///   - liveness: tells whether a pid of this machine is alive; `.thisMachine()` in production.
    ///   - busyTimeout: how long a write waits for another process's write to finish.
    public init(
        directory: String,
        clock: @escaping @Sendable () -> Date = { Date() },
        liveness: ProcessLiveness = .thisMachine(),
        busyTimeout: Duration = .seconds(10)
    ) throws {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName).path
        self.location = path
        self.clock = clock
        self.liveness = liveness
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw JournalError.cannotOpen(journal: path, reason: "cannot create directory \(directory): \(error.localizedDescription)")
        }

        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(busyTimeout.seconds)
        configuration.label = "marshal.journal"
        // Processes creating the same new journal at the same moment trip over each other's schema setup
        // (the busy timeout does not cover WAL setup or a migration that another process just applied).
        // Those failures are transient: try again shortly, a bounded number of times.
        // The whole open is bounded by the busy timeout: a journal another process keeps locked is
        // reported (with who holds it) instead of waited on silently.
        let deadline = Date().addingTimeInterval(busyTimeout.seconds)
        while true {
            do {
                database = try Self.openAndMigrate(path, configuration)
                break
            } catch let error as DatabaseError where Self.isTransientOpenFailure(error) && Date() < deadline {
                usleep(UInt32.random(in: 5_000...25_000))
            } catch let error as DatabaseError {
                if error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                    throw Self.busy(path, "open the journal")
                }
                if error.resultCode == .SQLITE_CORRUPT || error.resultCode == .SQLITE_NOTADB {
                    throw JournalError.damaged(journal: path, reason: Self.explain(error))
                }
                throw JournalError.cannotOpen(journal: path, reason: Self.explain(error))
            } catch let error as JournalError {
                throw error
            } catch {
                throw JournalError.cannotOpen(journal: path, reason: "\(error)")
            }
        }
    }

    private static func openAndMigrate(_ path: String, _ configuration: Configuration) throws -> DatabaseQueue {
        let database = try DatabaseQueue(path: path, configuration: configuration)
        // GRDB's WAL setup picks synchronous = NORMAL, which may lose the last commits on power
        // loss; FULL syncs the WAL at every commit (https://www.sqlite.org/pragma.html#pragma_synchronous).
        try database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let migrator = Schema.migrator
        if try database.read({ try migrator.hasBeenSuperseded($0) }) {
            throw JournalError.newerSchema(journal: path)
        }
        try migrator.migrate(database)
        return database
    }

    private static func isTransientOpenFailure(_ error: DatabaseError) -> Bool {
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_SCHEMA, .SQLITE_ERROR: true
        default: false
        }
    }

    // MARK: Runs

    public func createRun(_ run: RunRecord) async throws {
        let params = try RunParamsJSON.encode(run.params)
        try await write("create run \(run.id)") { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM runs WHERE id = ?", arguments: [run.id]) == true {
                throw JournalError.duplicateRun(id: run.id, journal: self.location)
            }
            try self.insertRun(db, run, params: params)
        }
    }

    public func updateRun(id: String, _ update: RunUpdate) async throws {
        try await write("update run \(id)") { db in
            try db.execute(
                sql: """
                UPDATE runs SET status = ?, endedAt = COALESCE(?, endedAt), failure = COALESCE(?, failure)
                WHERE id = ?
                """,
                arguments: [update.status.rawValue, update.endedAt, update.failureSummary, id]
            )
            if db.changesCount == 0 {
                throw JournalError.runNotFound(reference: id, environment: nil, journal: self.location)
            }
        }
    }

    public func runs(matching query: RunQuery) async throws -> [RunRecord] {
        try await read("list runs") { db in try self.fetchRuns(db, query) }
    }

    public func run(id reference: String, environment: String?) async throws -> RunRecord {
        try await read("find run \(reference)") { db in
            try RunReference.resolve(reference, environment: environment, journal: self.location) { try self.fetchRuns(db, $0.query, where: $0.condition(placeholder: "?"), StatementArguments($0.arguments)) }
        }
    }

    @discardableResult
    public func reconcileInterrupted() async throws -> [String] {
        try await write("mark interrupted runs") { db in
            let now = self.clock()
            let locks = try self.fetchLocks(db)
            let running = try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE status = ?", arguments: [RunRecord.Status.running.rawValue])
            var ids: [String] = []
            for row in running {
                let run = try self.decodeRun(row)
                guard let reason = RunLiveness.interruptionReason(
                    of: run, lock: locks[run.environment], now: now, liveness: self.liveness
                ) else { continue }
                try db.execute(
                    sql: "UPDATE runs SET status = ?, failure = COALESCE(failure, ?) WHERE id = ?",
                    arguments: [RunRecord.Status.interrupted.rawValue, reason, run.id]
                )
                ids.append(run.id)
            }
            return ids
        }
    }

    // MARK: Steps and measurements

    /// The ends of finished steps and the starts of the next ones, in one transaction (one fsync),
    /// with the run's lock proven and extended in it.
    public func commitBoundary(finishes: [StepFinish], starts: [StepRecord], renewing claim: LockClaim?) async throws -> [Int] {
        guard let runId = starts.first?.runId ?? finishes.first?.runId else { return [] }
        let what: String
        switch (finishes.count, starts.count) {
        case (0, 1): what = "record step \(starts[0].name)"
        case (0, let n): what = "record \(n) steps"
        case (1, 0): what = "record the end of step #\(finishes[0].sequence)"
        case (let n, 0): what = "record the end of \(n) steps"
        default: what = "record the end of \(finishes.count) steps and the start of \(starts.count)"
        }
        return try await write("\(what) of run \(runId)") { db in
            if let claim {
                let current = try self.fetchLock(db, claim.environment)
                guard let current, current.runId == claim.runId else {
                    throw JournalError.lockNotHeld(environment: claim.environment, runId: claim.runId, current: current, journal: self.location)
                }
                _ = try self.extend(db, current, now: self.clock(), lease: claim.lease)
            }
            for item in finishes {
                let completion = item.completion
                try db.execute(
                    sql: """
                    UPDATE steps SET status = ?, endedAt = ?, exitStatus = ?, signal = ?, stdout = ?, stderr = ?,
                                     registered = ?, attempts = ?, message = ?, command = COALESCE(?, command)
                    WHERE runId = ? AND sequence = ?
                    """,
                    arguments: [
                        completion.status.rawValue, completion.endedAt, completion.exitStatus, completion.signal,
                        completion.stdout, completion.stderr, completion.registeredJSON, completion.attempts,
                        completion.message, completion.command, item.runId, item.sequence,
                    ]
                )
                if db.changesCount == 0 {
                    throw JournalError.stepNotFound(runId: item.runId, sequence: item.sequence, journal: self.location)
                }
            }
            var sequences: [Int] = []
            for step in starts {
                try self.requireRun(db, step.runId)
                let last = try Int.fetchOne(db, sql: "SELECT MAX(sequence) FROM steps WHERE runId = ?", arguments: [step.runId])
                let sequence = (last ?? 0) + 1
                try self.insertStep(db, step, sequence: sequence)
                sequences.append(sequence)
            }
            return sequences
        }
    }


    public func steps(runId: String) async throws -> [StepRecord] {
        try await read("read steps of run \(runId)") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM steps WHERE runId = ? ORDER BY sequence", arguments: [runId])
                .map { try self.decodeStep($0) }
        }
    }

    @discardableResult
    public func recordMeasurement(_ m: MeasurementRecord) async throws -> Int {
        try await write("record measurement \(m.name) of run \(m.runId)") { db in
            try self.requireRun(db, m.runId)
            try self.insertMeasurement(db, m)
            return Int(db.lastInsertedRowID)
        }
    }

    public func measurements(runId: String) async throws -> [MeasurementRecord] {
        try await read("read measurements of run \(runId)") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM measurements WHERE runId = ? ORDER BY id", arguments: [runId])
                .map { try self.decodeMeasurement($0) }
        }
    }

    // MARK: Environment lock

    public func acquireLock(
        environment: String, holder: String, pid: Int32, runId: String, lease: Duration, message: String?
    ) async throws -> LockAcquisition {
        try await write("take the lock of environment \(environment)") { db in
            let now = self.clock()
            if let current = try self.fetchLock(db, environment) {
                guard current.runId == runId else {
                    return current.isStale(now: now, liveness: self.liveness) ? .stale(current) : .heldBy(current)
                }
                // Same run, maybe from a new process: the lock follows it, so liveness checks probe the right pid.
                try db.execute(
                    sql: "UPDATE locks SET holder = ?, pid = ?, message = coalesce(?, message) WHERE environment = ?",
                    arguments: [holder, pid, message, environment]
                )
                return .acquired(try self.extend(db, current, now: now, lease: lease))
            }
            return .acquired(try self.insertLock(db, environment, holder, pid, runId, message, now: now, lease: lease))
        }
    }

    public func takeOverStaleLock(
        environment: String, stale: LockRecord, holder: String, pid: Int32, runId: String, lease: Duration, message: String?
    ) async throws -> LockAcquisition {
        try await write("take over the lock of environment \(environment)") { db in
            let now = self.clock()
            if let current = try self.fetchLock(db, environment) {
                let same = current.runId == stale.runId && current.pid == stale.pid && current.holder == stale.holder
                    && current.since == stale.since
                guard same, current.isStale(now: now, liveness: self.liveness) else {
                    if current.runId == runId { return .acquired(try self.extend(db, current, now: now, lease: lease)) }
                    return current.isStale(now: now, liveness: self.liveness) ? .stale(current) : .heldBy(current)
                }
                try db.execute(sql: "DELETE FROM locks WHERE environment = ?", arguments: [environment])
            }
            return .acquired(try self.insertLock(db, environment, holder, pid, runId, message, now: now, lease: lease))
        }
    }

    @discardableResult
    public func renewLock(environment: String, runId: String, lease: Duration) async throws -> LockRecord {
        try await write("renew the lock of environment \(environment)") { db in
            let current = try self.fetchLock(db, environment)
            guard let current, current.runId == runId else {
                throw JournalError.lockNotHeld(environment: environment, runId: runId, current: current, journal: self.location)
            }
            return try self.extend(db, current, now: self.clock(), lease: lease)
        }
    }

    @discardableResult
    public func releaseLock(environment: String, runId: String) async throws -> Bool {
        try await write("release the lock of environment \(environment)") { db in
            try db.execute(sql: "DELETE FROM locks WHERE environment = ? AND runId = ?", arguments: [environment, runId])
            return db.changesCount > 0
        }
    }

    @discardableResult
    public func forceReleaseLock(environment: String) async throws -> LockRecord? {
        try await write("release the lock of environment \(environment)") { db in
            let current = try self.fetchLock(db, environment)
            try db.execute(sql: "DELETE FROM locks WHERE environment = ?", arguments: [environment])
            return current
        }
    }

    public func lockStatus(environment: String) async throws -> LockRecord? {
        try await read("read the lock of environment \(environment)") { db in try self.fetchLock(db, environment) }
    }

    public func currentTime() async throws -> Date { clock() }


    // MARK: Rows

    private func insertRun(_ db: Database, _ run: RunRecord, params: String) throws {
        try db.execute(
            sql: """
            INSERT INTO runs (id, runbook, runbookPath, environment, params, inputs, status, startedAt, endedAt,
                              operator, pid, kind, parentRunId, failure)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            arguments: [
                run.id, run.runbook, run.runbookPath, run.environment, params, run.inputsJSON,
                run.status.rawValue, run.startedAt, run.endedAt, run.operatorName, run.pid, run.kind.rawValue,
                run.parentRunId, run.failureSummary,
            ]
        )
    }

    private func insertStep(_ db: Database, _ step: StepRecord, sequence: Int) throws {
        try db.execute(
            sql: """
            INSERT INTO steps (runId, sequence, stepIndex, stepId, name, kind, phase, host, batch, status, startedAt,
                               endedAt, exitStatus, signal, command, stdout, stderr, registered, attempts, message)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            arguments: [
                step.runId, sequence, step.stepIndex, step.stepId, step.name, step.kind, step.phase.rawValue,
                step.host, step.batch, step.status.rawValue, step.startedAt, step.endedAt, step.exitStatus,
                step.signal, step.command, step.stdout, step.stderr, step.registeredJSON, step.attempts,
                step.message,
            ]
        )
    }

    private func insertMeasurement(_ db: Database, _ m: MeasurementRecord) throws {
        try db.execute(
            sql: """
            INSERT INTO measurements (runId, stepSequence, host, kind, name, outcome, expectation, value, unit,
                                      payload, recordedAt)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            arguments: [
                m.runId, m.stepSequence, m.host, m.kind, m.name, m.outcome?.rawValue, m.expectation, m.value,
                m.unit, m.payloadJSON, m.recordedAt,
            ]
        )
    }

    /// Copies a whole run (from another store or the spool) in one transaction; false when the
    /// store already has a run with that id (copying again changes nothing).
    public func importRun(_ run: RunRecord, steps: [StepRecord], measurements: [MeasurementRecord]) async throws -> Bool {
        let params = try RunParamsJSON.encode(run.params)
        return try await write("import run \(run.id)") { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM runs WHERE id = ?", arguments: [run.id]) == true { return false }
            try self.insertRun(db, run, params: params)
            for step in steps { try self.insertStep(db, step, sequence: step.sequence) }
            for m in measurements { try self.insertMeasurement(db, m) }
            return true
        }
    }

    // MARK: Queries

    private func fetchRuns(
        _ db: Database, _ query: RunQuery, where extra: String? = nil, _ extraArguments: StatementArguments = []
    ) throws -> [RunRecord] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let extra {
            conditions.append(extra)
            arguments += extraArguments
        }
        if let environment = query.environment {
            conditions.append("environment = ?")
            arguments += [environment]
        }
        if let runbook = query.runbook {
            conditions.append("runbook = ?")
            arguments += [runbook]
        }
        if let kinds = query.kinds {
            conditions.append(Self.isIn("kind", kinds.map(\.rawValue), &arguments))
        }
        if let excluding = query.excluding {
            conditions.append("id <> ?")
            arguments += [excluding]
        }
        // The shown status of a stored `running` run is decided after reading; filter on it afterwards.
        let decidedAfterRead = query.statusDecidedAfterRead
        if var statuses = query.statuses {
            if statuses.contains(.interrupted) { statuses.insert(.running) }
            conditions.append(Self.isIn("status", statuses.map(\.rawValue), &arguments))
        }
        var sql = "SELECT * FROM runs"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY startedAt DESC, rowid DESC"
        if let limit = query.limit, !decidedAfterRead {
            sql += " LIMIT ?"
            arguments += [max(0, limit)]
        }

        let read = try Row.fetchAll(db, sql: sql, arguments: arguments).map { try decodeRun($0) }
        return query.shown(read, locks: try fetchLocks(db), now: clock(), liveness: liveness)
    }

    private static func isIn(_ column: String, _ values: [String], _ arguments: inout StatementArguments) -> String {
        guard !values.isEmpty else { return "0" }
        arguments += StatementArguments(values.sorted())
        return "\(column) IN (\(Array(repeating: "?", count: values.count).joined(separator: ", ")))"
    }

    private func requireRun(_ db: Database, _ id: String) throws {
        if try Bool.fetchOne(db, sql: "SELECT 1 FROM runs WHERE id = ?", arguments: [id]) != true {
            throw JournalError.runNotFound(reference: id, environment: nil, journal: location)
        }
    }

    private func fetchLock(_ db: Database, _ environment: String) throws -> LockRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM locks WHERE environment = ?", arguments: [environment])
            .map { try decodeLock($0) }
    }

    private func fetchLocks(_ db: Database) throws -> [String: LockRecord] {
        var locks: [String: LockRecord] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM locks") {
            let lock = try decodeLock(row)
            locks[lock.environment] = lock
        }
        return locks
    }

    private func insertLock(
        _ db: Database, _ environment: String, _ holder: String, _ pid: Int32, _ runId: String, _ message: String?,
        now: Date, lease: Duration
    ) throws -> LockRecord {
        let lock = LockRecord(
            environment: environment, holder: holder, pid: pid, runId: runId, since: now,
            leaseExpiresAt: now.addingTimeInterval(lease.seconds), message: message
        )
        try db.execute(
            sql: "INSERT INTO locks (environment, holder, pid, runId, since, leaseExpiresAt, message) VALUES (?, ?, ?, ?, ?, ?, ?)",
            arguments: [lock.environment, lock.holder, lock.pid, lock.runId, lock.since, lock.leaseExpiresAt, lock.message]
        )
        return try fetchLock(db, environment) ?? lock
    }

    private func extend(_ db: Database, _ lock: LockRecord, now: Date, lease: Duration) throws -> LockRecord {
        try db.execute(
            sql: "UPDATE locks SET leaseExpiresAt = ? WHERE environment = ? AND runId = ?",
            arguments: [now.addingTimeInterval(lease.seconds), lock.environment, lock.runId]
        )
        return try fetchLock(db, lock.environment) ?? lock
    }

    // MARK: Access

    // GRDB's async accessors throw CancellationError in a cancelled task, and Ctrl-C cancels the
    // run's task. What the run did must still be recorded (its last step, its end, the lock's
    // release), so every access runs in a task of its own, which cancellation does not reach.

    private func write<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let database = database
        return try await Task { try await self.transaction(operation, database, body) }.value
    }

    private func transaction<T: Sendable>(_ operation: String, _ database: DatabaseQueue,
                                          _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.writeWithoutTransaction { db in
                var result: T?
                // IMMEDIATE takes the write lock before the first read, so that check-then-write (the lock
                // above all) cannot interleave with another process.
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                guard let result else { throw JournalError.storageFailed(journal: self.location, operation: operation, reason: "transaction returned nothing") }
                return result
            }
        } catch let error as DatabaseError {
            throw translate(error, operation)
        }
    }

    private func read<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let database = database
        return try await Task {
            do {
                return try await database.read(body)
            } catch let error as DatabaseError {
                throw self.translate(error, operation)
            }
        }.value
    }

    private static func busy(_ path: String, _ operation: String) -> JournalError {
        let holders = FileLockHolders.describe([path, path + "-wal", path + "-shm"])
        return holders.isEmpty ? .busy(journal: path, operation: operation) : .busyHeldBy(journal: path, operation: operation, holders: holders)
    }

    /// Runs SQLite's `quick_check` (https://www.sqlite.org/pragma.html#pragma_quick_check): a run
    /// refuses to start on a journal with a damaged page rather than write into it.
    public func verifyIntegrity() throws {
        let problems: [String]
        do {
            problems = try database.read { try String.fetchAll($0, sql: "PRAGMA quick_check(5)") }
        } catch let error as DatabaseError {
            throw JournalError.damaged(journal: location, reason: Self.explain(error))
        }
        guard problems == ["ok"] else {
            throw JournalError.damaged(journal: location, reason: problems.prefix(3).joined(separator: "; "))
        }
    }

    private func translate(_ error: DatabaseError, _ operation: String) -> JournalError {
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            Self.busy(location, operation)
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            .damaged(journal: location, reason: Self.explain(error))
        default:
            .storageFailed(journal: location, operation: operation, reason: Self.explain(error))
        }
    }

    private static func explain(_ error: DatabaseError) -> String {
        let message = error.message ?? "SQLite error \(error.extendedResultCode.rawValue)"
        switch error.resultCode {
        case .SQLITE_FULL: return "the disk is full (\(message))"
        case .SQLITE_READONLY, .SQLITE_PERM: return "the file is read-only (\(message))"
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: return "the file is damaged or is not a marshal journal (\(message))"
        case .SQLITE_CANTOPEN: return "the file cannot be opened (\(message))"
        case .SQLITE_IOERR: return "disk I/O error (\(message))"
        default: return message
        }
    }

    /// Copies the write-ahead log into the database file and empties it, so that the `.sqlite` file
    /// alone holds every committed run (an operator may copy or mail just that file). Called when a
    /// command ends; failures are harmless (the WAL still holds the data) and so not reported.
    public func checkpoint() {
        try? database.writeWithoutTransaction { db in
            _ = try db.checkpoint(.truncate)
        }
    }

    /// Reads one pragma, for tests and `marshal doctor`-style checks.
    func pragma(_ name: String) throws -> String? {
        try database.read { try String.fetchOne($0, sql: "PRAGMA \(name)") }
    }
}

extension Duration {
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

extension SQLiteJournal {
    /// Records a migration this version does not know, as a newer marshal would have. Tests only.
    func simulateNewerSchema() throws {
        try database.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v999-from-the-future')")
        }
    }
}
