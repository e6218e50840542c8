import Foundation

/// The durable run journal and the environment lock.
///
/// Every write is durable when the method returns: a run killed right after `appendStep` returns finds
/// that step on the next start. Nothing passed in may hold a secret: callers mask params, inputs,
/// commands and output first (`ShellCommand.display`, `Secret` prints as `***`).
///
/// The embedded store is SQLite (`MarshalJournal.SQLiteJournal`); a shared PostgreSQL store can implement
/// the same protocol so that history and locks are shared by every operator. Stores keep time with
/// their own clock (for a shared store, the server's), so leases do not depend on the caller's clock.
///
/// A `running` run is *shown* as `interrupted` (by `runs`, `run` and `lastRun`) when its process is gone:
/// it no longer holds its environment's lock with a live lease, or it ran on this machine and its pid is
/// not alive. Callers therefore hold the lock for the whole run, renew it well within its lease, and
/// write the run's final status before releasing the lock. `reconcileInterrupted()` writes that status
/// down. A resume is a new run (`kind: .resume`, `parentRunId`), never the old one reopened.
public protocol JournalStore: Sendable {
    /// Where the journal lives, for messages (`.marshal/journal.sqlite`).
    var location: String { get }

    // MARK: Runs

    /// Throws `.duplicateRun` when the id is taken.
    func createRun(_ run: RunRecord) async throws
    func updateRun(id: String, _ update: RunUpdate) async throws
    /// Runs matching the query, newest first, with dead `running` runs shown as `interrupted`.
    func runs(matching query: RunQuery) async throws -> [RunRecord]
    /// Resolves a run reference: an id, a unique prefix of one, or `last` (the newest run, of
    /// `environment` when given). With an environment, an id of another environment is an error.
    func run(id reference: String, environment: String?) async throws -> RunRecord
    /// Writes `interrupted` for every `running` run whose process is gone; returns their ids.
    @discardableResult
    func reconcileInterrupted() async throws -> [String]

    // MARK: Steps and measurements

    /// Writes a started (or already finished) step; the store assigns and returns its sequence number.
    func appendStep(_ step: StepRecord) async throws -> Int
    func finishStep(runId: String, sequence: Int, _ completion: StepCompletion) async throws
    /// Steps in sequence order.
    func steps(runId: String) async throws -> [StepRecord]
    /// Several `appendStep`s in one durable transaction; sequences in the same order.
    func appendSteps(_ steps: [StepRecord]) async throws -> [Int]
    /// Several `finishStep`s in one durable transaction.
    func finishSteps(_ items: [StepFinish]) async throws
    /// A step boundary in one durable transaction: the ends of the steps that just finished and
    /// the starts of the next; returns the new steps' sequences.
    func commitBoundary(finishes: [StepFinish], starts: [StepRecord]) async throws -> [Int]
    /// A step boundary that also proves and extends the run's lock in the same transaction: when the
    /// run no longer holds it, nothing is written and `.lockNotHeld` is thrown, so no step starts
    /// under a lock another run holds.
    func commitBoundary(finishes: [StepFinish], starts: [StepRecord], renewing claim: LockClaim?) async throws -> [Int]
    /// Returns the measurement's id.
    @discardableResult
    func recordMeasurement(_ measurement: MeasurementRecord) async throws -> Int
    /// Measurements in the order they were recorded.
    func measurements(runId: String) async throws -> [MeasurementRecord]
    /// Writes a whole run with its steps (sequences kept) and measurements in one transaction, as
    /// `marshal state copy` and the spool upload do; false, writing nothing, when the run is there already.
    func importRun(_ run: RunRecord, steps: [StepRecord], measurements: [MeasurementRecord]) async throws -> Bool

    // MARK: Environment lock

    /// Atomically takes the environment's lock when it is free (or already this run's, extending it;
    /// a new `message` then replaces the old one). `message` is the operator's reason (`run -m`).
    func acquireLock(environment: String, holder: String, pid: Int32, runId: String, lease: Duration, message: String?)
        async throws -> LockAcquisition
    /// Replaces `stale` by a new lock for this run, atomically and only if the lock is still exactly
    /// `stale` and still stale; otherwise reports what holds it now.
    func takeOverStaleLock(
        environment: String, stale: LockRecord, holder: String, pid: Int32, runId: String, lease: Duration, message: String?
    ) async throws -> LockAcquisition
    /// Extends the lease to now + `lease`; throws `.lockNotHeld` when this run lost the lock.
    @discardableResult
    func renewLock(environment: String, runId: String, lease: Duration) async throws -> LockRecord
    /// Releases the lock if this run holds it; returns whether it did.
    @discardableResult
    func releaseLock(environment: String, runId: String) async throws -> Bool
    /// Removes whatever lock the environment has (`marshal lock release`); returns what was removed.
    @discardableResult
    func forceReleaseLock(environment: String) async throws -> LockRecord?
    func lockStatus(environment: String) async throws -> LockRecord?
    /// The store's time (a shared store's server clock): leases are judged by it, never by the caller's.
    func currentTime() async throws -> Date
}

/// One `finishStep` of a batch.
public struct StepFinish: Sendable, Hashable, Codable {
    public var runId: String
    public var sequence: Int
    public var completion: StepCompletion
    public init(runId: String, sequence: Int, completion: StepCompletion) {
        self.runId = runId
        self.sequence = sequence
        self.completion = completion
    }
}

extension JournalStore {
    /// A lock taken without a message.
    public func acquireLock(environment: String, holder: String, pid: Int32, runId: String, lease: Duration) async throws
        -> LockAcquisition
    {
        try await acquireLock(environment: environment, holder: holder, pid: pid, runId: runId, lease: lease, message: nil)
    }

    public func takeOverStaleLock(
        environment: String, stale: LockRecord, holder: String, pid: Int32, runId: String, lease: Duration
    ) async throws -> LockAcquisition {
        try await takeOverStaleLock(environment: environment, stale: stale, holder: holder, pid: pid, runId: runId, lease: lease,
                                    message: nil)
    }

    public func appendSteps(_ steps: [StepRecord]) async throws -> [Int] {
        var sequences: [Int] = []
        for step in steps { sequences.append(try await appendStep(step)) }
        return sequences
    }

    public func finishSteps(_ items: [StepFinish]) async throws {
        for item in items { try await finishStep(runId: item.runId, sequence: item.sequence, item.completion) }
    }

    /// Not atomic: stores override it to renew inside the boundary's transaction.
    public func commitBoundary(finishes: [StepFinish], starts: [StepRecord], renewing claim: LockClaim?) async throws -> [Int] {
        if let claim { try await renewLock(environment: claim.environment, runId: claim.runId, lease: claim.lease) }
        return try await commitBoundary(finishes: finishes, starts: starts)
    }

    public func commitBoundary(finishes: [StepFinish], starts: [StepRecord]) async throws -> [Int] {
        if !finishes.isEmpty { try await finishSteps(finishes) }
        return starts.isEmpty ? [] : try await appendSteps(starts)
    }

    /// Newest runs first, of one environment or of all.
    public func runs(environment: String? = nil, limit: Int? = nil) async throws -> [RunRecord] {
        try await runs(matching: RunQuery(environment: environment, limit: limit))
    }

    /// The baseline for reports (`baseline: last-success`): the newest succeeded rollout of this runbook
    /// in this environment, other than `excluding`.
    public func lastSuccessfulRun(environment: String, runbook: String, excluding: String? = nil) async throws
        -> RunRecord?
    {
        try await runs(matching: RunQuery(
            environment: environment, runbook: runbook, kinds: [.rollout, .resume], statuses: [.succeeded],
            excluding: excluding, limit: 1
        )).first
    }

    /// The newest run of the given kinds in an environment (`marshal rollback` looks for the last rollout).
    public func lastRun(environment: String, kinds: Set<RunRecord.Kind>) async throws -> RunRecord? {
        try await runs(matching: RunQuery(environment: environment, kinds: kinds, limit: 1)).first
    }

    public func updateRun(id: String, status: RunRecord.Status, endedAt: Date? = nil, failureSummary: String? = nil)
        async throws
    {
        try await updateRun(id: id, RunUpdate(status: status, endedAt: endedAt, failureSummary: failureSummary))
    }
}

/// Decides how a stored run is shown: a `running` run whose process is gone is `interrupted`.
/// Shared by stores so that every store shows the same thing.
extension RunQuery {
    /// Whether the statuses asked for can only be matched after reading: a stored `running` run
    /// is shown as `interrupted` when its holder is dead, so neither filter nor limit go to SQL.
    public var statusDecidedAfterRead: Bool { statuses.map { $0.contains(.running) || $0.contains(.interrupted) } ?? false }

    /// The runs a store read for this query, as shown (`RunLiveness.shown`), with the status
    /// filter and limit that could not be applied in SQL.
    public func shown(_ read: [RunRecord], locks: [String: LockRecord], now: Date, liveness: ProcessLiveness) -> [RunRecord] {
        var runs = read.map { RunLiveness.shown($0, lock: locks[$0.environment], now: now, liveness: liveness) }
        if statusDecidedAfterRead, let statuses {
            runs = runs.filter { statuses.contains($0.status) }
            if let limit { runs = Array(runs.prefix(max(0, limit))) }
        }
        return runs
    }
}

public enum RunLiveness {
    /// Why the run is dead, or nil when it may still be running (or is not `running`).
    public static func interruptionReason(
        of run: RunRecord, lock: LockRecord?, now: Date, liveness: ProcessLiveness
    ) -> String? {
        guard run.status == .running else { return nil }
        if liveness.isAlive(pid: run.pid, on: run.machine) == false {
            return "process \(run.pid) on \(run.machine) ended without finishing the run"
        }
        guard let lock, lock.runId == run.id else {
            return "the run no longer holds the lock of environment \(run.environment)"
        }
        if lock.isStale(now: now) {
            return "the run stopped renewing its lock of environment \(run.environment) (lease expired)"
        }
        return nil
    }

    /// The run as it should be shown: status `interrupted` and a failure summary when it is dead.
    public static func shown(_ run: RunRecord, lock: LockRecord?, now: Date, liveness: ProcessLiveness) -> RunRecord {
        guard let reason = interruptionReason(of: run, lock: lock, now: now, liveness: liveness) else { return run }
        var shown = run
        shown.status = .interrupted
        shown.failureSummary = run.failureSummary ?? reason
        return shown
    }
}
