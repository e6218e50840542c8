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

    init(store: any JournalStore, lag: Duration = .milliseconds(20)) {
        self.store = store
        self.lag = lag
    }

    /// Commits the pending ends together with these starts; returns the starts' sequences.
    func start(_ records: [StepRecord]) async throws -> [Int] {
        let finishes = pending
        pending.removeAll()
        return try await store.commitBoundary(finishes: finishes, starts: records)
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
        _ = try await store.commitBoundary(finishes: finishes, starts: [])
    }
}
