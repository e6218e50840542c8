/// Writes step boundaries durably, coalescing the ends of steps that finish together on many
/// hosts into one transaction (one fsync), so a 50-host batch does not pay 50 fsyncs per step.
actor JournalWriter {
    private let store: any JournalStore
    private var pending: [(StepFinish, CheckedContinuation<Void, any Error>)] = []
    private var flushing = false

    init(store: any JournalStore) { self.store = store }

    func start(_ records: [StepRecord]) async throws -> [Int] {
        try await store.appendSteps(records)
    }

    func finish(_ item: StepFinish) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            pending.append((item, continuation))
            if !flushing {
                flushing = true
                Task { await self.flush() }
            }
        }
    }

    private func flush() async {
        while !pending.isEmpty {
            let batch = pending
            pending.removeAll()
            do {
                try await store.finishSteps(batch.map(\.0))
                for (_, continuation) in batch { continuation.resume() }
            } catch {
                for (_, continuation) in batch { continuation.resume(throwing: error) }
            }
        }
        flushing = false
    }
}
