/// A store that writes every step record through one transactional boundary
/// (`commitBoundary(finishes:starts:renewing:)`): SQLite and PostgreSQL. A single start or end,
/// or a batch of either, is that boundary with the other side empty.
public protocol BoundaryStore: JournalStore {}

extension BoundaryStore {
    public func appendStep(_ step: StepRecord) async throws -> Int {
        guard let sequence = try await commitBoundary(finishes: [], starts: [step], renewing: nil).first else {
            throw JournalError.stepNotFound(runId: step.runId, sequence: 0, journal: location)
        }
        return sequence
    }

    /// Many step starts in one transaction: one fsync for a whole batch of hosts.
    public func appendSteps(_ steps: [StepRecord]) async throws -> [Int] {
        try await commitBoundary(finishes: [], starts: steps, renewing: nil)
    }

    public func finishStep(runId: String, sequence: Int, _ completion: StepCompletion) async throws {
        try await finishSteps([StepFinish(runId: runId, sequence: sequence, completion: completion)])
    }

    /// Many step ends in one transaction (group commit of hosts finishing together).
    public func finishSteps(_ items: [StepFinish]) async throws {
        _ = try await commitBoundary(finishes: items, starts: [], renewing: nil)
    }

    public func commitBoundary(finishes: [StepFinish], starts: [StepRecord]) async throws -> [Int] {
        try await commitBoundary(finishes: finishes, starts: starts, renewing: nil)
    }
}
