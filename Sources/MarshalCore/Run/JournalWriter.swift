/// Writes step boundaries durably with as few fsyncs as the guarantees allow:
/// - the start of a step is committed before the step runs, in one transaction with the ends of
///   the steps that finished since the last commit (a boundary is one fsync, not two);
/// - the end of a step that is not followed at once by another start (a host still busy on
///   another step, the last step of a run) is committed within `lag` by a background flush.
///
/// It also keeps every record it was given in memory, so that when the store fails (a full disk)
/// the run can still leave a complete account of what it did in a recovery file.
actor JournalWriter {
    private let store: any JournalStore
    private var pending: [StepFinish] = []
    private var flushScheduled = false
    private let lag: Duration
    private let lease: LeaseKeeper?
    private let clock: any Clock
    /// Everything this run journaled or tried to, by sequence (ours when the store gave none).
    private var mirror: [StepRecord] = []
    private var localSequence = 0
    /// The first error the store returned; once set, the journal is incomplete.
    private(set) var failure: String?

    init(store: any JournalStore, clock: any Clock, lease: LeaseKeeper? = nil, lag: Duration = .milliseconds(20)) {
        self.store = store
        self.clock = clock
        self.lease = lease
        self.lag = lag
    }

    /// Commits the pending ends together with these starts; returns the starts' sequences.
    /// No step starts unless the run's lock lease is proven first (throws `LeaseKeeper.Lost`).
    func start(_ records: [StepRecord]) async throws -> [Int] {
        do {
            let sequences = try await commit(records)
            remember(records, sequences: sequences)
            return sequences
        } catch {
            failure = failure ?? "\(error)"
            remember(records, sequences: nil)
            throw error
        }
    }

    private func commit(_ records: [StepRecord]) async throws -> [Int] {
        guard let lease else {
            let finishes = pending
            pending.removeAll()
            return try await store.commitBoundary(finishes: finishes, starts: records)
        }
        let finishes = pending
        pending.removeAll()
        // A store that does not answer is waited for at the boundary while the lease lasts (the
        // keeper says so and retries); the boundary is then committed as if nothing happened.
        while true {
            do {
                try await lease.prove()
            } catch {
                if !finishes.isEmpty { try? await store.finishSteps(finishes) }
                throw error
            }
            let sent = clock.now
            do {
                let sequences = try await store.commitBoundary(finishes: finishes, starts: records, renewing: await lease.claim)
                await lease.boundaryCommitted(sentAt: sent)
                return sequences
            } catch let error as JournalError {
                switch error {
                case .lockNotHeld:
                    // The ends are still worth keeping: they say what ran before the lock was lost.
                    if !finishes.isEmpty { try? await store.finishSteps(finishes) }
                    throw await lease.boundaryRefused(error)
                case .unreachable, .busy, .busyHeldBy:
                    await lease.noteFailure("\(error)")
                default:
                    pending.insert(contentsOf: finishes, at: 0)
                    throw error
                }
            }
        }
    }

    /// Queues a step's end; it is committed with the next start, or by the lagging flush.
    func finish(_ item: StepFinish) {
        apply(item)
        pending.append(item)
        if !flushScheduled {
            flushScheduled = true
            Task { [lag, clock] in
                try? await clock.sleepBeside(for: lag)
                try? await self.flush()
            }
        }
    }

    /// Commits every queued end now (end of a run, before reading the journal back).
    func flush() async throws {
        flushScheduled = false
        guard !pending.isEmpty else { return }
        let finishes = pending
        pending.removeAll()
        do {
            _ = try await store.commitBoundary(finishes: finishes, starts: [])
        } catch {
            // Kept for the next boundary or flush: a short store outage must not lose a step's end.
            pending.insert(contentsOf: finishes, at: 0)
            failure = failure ?? "\(error)"
            throw error
        }
    }

    /// A step's end when the store gave its start no sequence: kept in the mirror only.
    func finishUnjournaled(_ record: StepRecord, _ completion: StepCompletion) -> Int {
        let sequence = remember([record], sequences: nil)[0]
        apply(StepFinish(runId: record.runId, sequence: sequence, completion: completion))
        return sequence
    }

    /// What the run did, as complete as this process knows it.
    func records() -> [StepRecord] { mirror.sorted { $0.sequence < $1.sequence } }

    @discardableResult
    private func remember(_ records: [StepRecord], sequences: [Int]?) -> [Int] {
        var assigned: [Int] = []
        for (i, record) in records.enumerated() {
            var copy = record
            if let sequences, i < sequences.count {
                copy.sequence = sequences[i]
            } else {
                localSequence = max(localSequence, mirror.map(\.sequence).max() ?? 0) + 1
                copy.sequence = localSequence
            }
            localSequence = max(localSequence, copy.sequence)
            mirror.append(copy)
            assigned.append(copy.sequence)
        }
        return assigned
    }

    private func apply(_ item: StepFinish) {
        guard let index = mirror.lastIndex(where: { $0.sequence == item.sequence }) else { return }
        let c = item.completion
        mirror[index].status = c.status
        mirror[index].endedAt = c.endedAt
        mirror[index].exitStatus = c.exitStatus
        mirror[index].signal = c.signal
        mirror[index].stdout = c.stdout
        mirror[index].stderr = c.stderr
        mirror[index].registeredJSON = c.registeredJSON
        mirror[index].attempts = c.attempts
        mirror[index].message = c.message
        if let command = c.command { mirror[index].command = command }
    }
}
