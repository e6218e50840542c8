import Foundation
import MarshalCore

/// A journal in memory with the SQLite store's rules (one lock per environment with a lease,
/// sequences per run, boundaries all-or-nothing), on the test's clock. Faults are switched on by
/// the test: `takeLock` hands the lock to another run, as `marshal lock release` and a second run would.
actor MemoryJournal: JournalStore {
    nonisolated let location = "memory"
    private let clock: any MarshalCore.Clock
    private var runRecords: [String: RunRecord] = [:]
    private var stepRecords: [String: [StepRecord]] = [:]
    private var measurementRecords: [MeasurementRecord] = []
    private var locks: [String: LockRecord] = [:]

    /// Until then every write and renewal fails as if the store's server were down.
    private var outageUntil: ContinuousClock.Instant?

    init(clock: any MarshalCore.Clock) { self.clock = clock }

    /// The store stops answering for `duration` of the run's clock (a PostgreSQL restart).
    func goDown(for duration: Duration) {
        outageUntil = clock.now + duration
    }

    private func reachable(_ operation: String) throws {
        if let until = outageUntil, clock.now < until {
            throw JournalError.unreachable(journal: location, operation: operation, reason: "connection refused")
        }
    }

    /// Another run takes the environment's lock (a `lock release` and a new run, by hand).
    func takeLock(environment: String, by other: String) {
        let now = clock.date
        locks[environment] = LockRecord(environment: environment, holder: "other@elsewhere", pid: 1, runId: other,
                                        since: now, leaseExpiresAt: now.addingTimeInterval(3600))
    }

    // MARK: Runs

    func createRun(_ run: RunRecord) async throws {
        guard runRecords[run.id] == nil else { throw JournalError.duplicateRun(id: run.id, journal: location) }
        runRecords[run.id] = run
    }

    func updateRun(id: String, _ update: RunUpdate) async throws {
        try reachable("update run")
        guard var run = runRecords[id] else { throw JournalError.runNotFound(reference: id, environment: nil, journal: location) }
        run.status = update.status
        run.endedAt = update.endedAt
        run.failureSummary = update.failureSummary
        runRecords[id] = run
    }

    func runs(matching query: RunQuery) async throws -> [RunRecord] {
        var found = runRecords.values.filter { run in
            (query.environment.map { run.environment == $0 } ?? true)
                && (query.runbook.map { run.runbook == $0 } ?? true)
                && (query.kinds.map { $0.contains(run.kind) } ?? true)
                && (query.statuses.map { $0.contains(run.status) } ?? true)
                && run.id != query.excluding
        }.sorted { ($0.startedAt, $0.id) > ($1.startedAt, $1.id) }
        if let limit = query.limit { found = Array(found.prefix(limit)) }
        return found
    }

    func run(id reference: String, environment: String?) async throws -> RunRecord {
        let all = try await runs(matching: RunQuery())
        return try RunReference.resolve(reference, environment: environment, journal: location,
                                        latest: { env in all.first { env == nil || $0.environment == env } },
                                        exact: { id in all.first { $0.id == id } },
                                        prefixed: { prefix in all.filter { $0.id.hasPrefix(prefix) } })
    }

    func reconcileInterrupted() async throws -> [String] { [] }

    // MARK: Steps and measurements

    func appendStep(_ step: StepRecord) async throws -> Int {
        try reachable("record a step")
        var step = step
        step.sequence = (stepRecords[step.runId]?.count ?? 0) + 1
        stepRecords[step.runId, default: []].append(step)
        return step.sequence
    }

    func finishStep(runId: String, sequence: Int, _ completion: StepCompletion) async throws {
        try reachable("record a step's end")
        guard let index = stepRecords[runId]?.firstIndex(where: { $0.sequence == sequence }) else {
            throw JournalError.stepNotFound(runId: runId, sequence: sequence, journal: location)
        }
        stepRecords[runId]![index].status = completion.status
        stepRecords[runId]![index].endedAt = completion.endedAt
        stepRecords[runId]![index].exitStatus = completion.exitStatus
        stepRecords[runId]![index].signal = completion.signal
        stepRecords[runId]![index].stdout = completion.stdout
        stepRecords[runId]![index].stderr = completion.stderr
        stepRecords[runId]![index].registeredJSON = completion.registeredJSON
        stepRecords[runId]![index].attempts = completion.attempts
        stepRecords[runId]![index].message = completion.message
    }

    func steps(runId: String) async throws -> [StepRecord] { stepRecords[runId] ?? [] }

    func commitBoundary(finishes: [StepFinish], starts: [StepRecord], renewing claim: LockClaim?) async throws -> [Int] {
        if let claim { try await renewLock(environment: claim.environment, runId: claim.runId, lease: claim.lease) }
        for finish in finishes { try await finishStep(runId: finish.runId, sequence: finish.sequence, finish.completion) }
        var sequences: [Int] = []
        for start in starts { sequences.append(try await appendStep(start)) }
        return sequences
    }

    func recordMeasurement(_ measurement: MeasurementRecord) async throws -> Int {
        try reachable("record a measurement")
        var measurement = measurement
        measurement.id = measurementRecords.count + 1
        measurementRecords.append(measurement)
        return measurement.id
    }

    func measurements(runId: String) async throws -> [MeasurementRecord] { measurementRecords.filter { $0.runId == runId } }

    func importRun(_ run: RunRecord, steps: [StepRecord], measurements: [MeasurementRecord]) async throws -> Bool {
        guard runRecords[run.id] == nil else { return false }
        runRecords[run.id] = run
        stepRecords[run.id] = steps
        measurementRecords += measurements
        return true
    }

    // MARK: Environment lock

    func acquireLock(environment: String, holder: String, pid: Int32, runId: String, lease: Duration,
                     message: String?) async throws -> LockAcquisition {
        let now = clock.date
        if let current = locks[environment], current.runId != runId {
            return current.isStale(now: now) ? .stale(current) : .heldBy(current)
        }
        let lock = LockRecord(environment: environment, holder: holder, pid: pid, runId: runId,
                              since: locks[environment]?.since ?? now, leaseExpiresAt: now.addingTimeInterval(lease.seconds),
                              message: message ?? locks[environment]?.message)
        locks[environment] = lock
        return .acquired(lock)
    }

    func takeOverStaleLock(environment: String, stale: LockRecord, holder: String, pid: Int32, runId: String,
                           lease: Duration, message: String?) async throws -> LockAcquisition {
        guard let current = locks[environment], current == stale, current.isStale(now: clock.date) else {
            return try await acquireLock(environment: environment, holder: holder, pid: pid, runId: runId, lease: lease, message: message)
        }
        locks[environment] = nil
        return try await acquireLock(environment: environment, holder: holder, pid: pid, runId: runId, lease: lease, message: message)
    }

    func renewLock(environment: String, runId: String, lease: Duration) async throws -> LockRecord {
        try reachable("renew the lock")
        guard var lock = locks[environment], lock.runId == runId else {
            throw JournalError.lockNotHeld(environment: environment, runId: runId, current: locks[environment], journal: location)
        }
        lock.leaseExpiresAt = clock.date.addingTimeInterval(lease.seconds)
        locks[environment] = lock
        return lock
    }

    func releaseLock(environment: String, runId: String) async throws -> Bool {
        guard locks[environment]?.runId == runId else { return false }
        locks[environment] = nil
        return true
    }

    func forceReleaseLock(environment: String) async throws -> LockRecord? {
        locks.removeValue(forKey: environment)
    }

    func lockStatus(environment: String) async throws -> LockRecord? { locks[environment] }

    func currentTime() async throws -> Date { clock.date }
}
