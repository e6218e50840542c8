/// Writes step boundaries durably with as few fsyncs as the guarantees allow:
/// - the start of a step is committed before the step runs, in one transaction with the ends of
///   the steps that finished since the last commit (a boundary is one fsync, not two);
/// - the end of a step that is not followed at once by another start (a host still busy on
///   another step, the last step of a run) is committed within `lag` by a background flush.
actor JournalWriter {
    private let store: any JournalStore
    private var pending: [StepFinish] = []
    private var flushScheduled = false
    private let lag: Duration
    private let lease: LeaseKeeper?

    init(store: any JournalStore, lease: LeaseKeeper? = nil, lag: Duration = .milliseconds(20)) {
        self.store = store
        self.lease = lease
        self.lag = lag
    }

    /// Commits the pending ends together with these starts; returns the starts' sequences.
    /// No step starts unless the run's lock lease is proven first (throws `LeaseKeeper.Lost`).
    func start(_ records: [StepRecord]) async throws -> [Int] {
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
            let sent = ContinuousClock.now
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
        pending.append(item)
        if !flushScheduled {
            flushScheduled = true
            Task { [lag] in
                try? await Task.sleep(for: lag)
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
            throw error
        }
    }
}
