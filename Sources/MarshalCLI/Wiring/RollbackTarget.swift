import Foundation
import MarshalCore
import MarshalLoading

/// Which run `marshal rollback -e ENV` undoes when no run is named: the newest successful rollout
/// that changed something. A validation run (only health checks, probes, reads) has nothing to
/// undo and is passed over.
enum RollbackTarget {
    /// Step kinds that only read or wait, as the journal names them.
    static let readOnlyKinds: Set<String> = ["health", "probe", "metric", "wait", "benchmark", "soak", "approve", "notify"]

    static func latest(in journal: any JournalStore, environment: String) async throws -> RunRecord? {
        let candidates = try await journal.runs(matching: RunQuery(environment: environment, kinds: [.rollout, .resume],
                                                                   statuses: [.succeeded], limit: 50))
        for run in candidates where try await changedSomething(run, journal: journal) { return run }
        return nil
    }

    /// True when a main step of the run succeeded that is not read-only. `sql` and `http` steps are
    /// read-only or not depending on the query or method: the run's journaled runbook decides.
    static func changedSomething(_ run: RunRecord, journal: any JournalStore) async throws -> Bool {
        let steps = try await journal.steps(runId: run.id).filter { $0.phase == .main && $0.status == .succeeded }
        let runbook = JournaledRunbook.documents(of: run).first { $0.role == .runbook }
            .flatMap { Loader().loadRunbook(path: $0.path, text: $0.text).value }
        for step in steps where !readOnlyKinds.contains(step.kind) {
            guard step.kind == "sql" || step.kind == "http" else { return true }
            let declared = runbook?.steps.first { $0.name == step.name || ($0.id != nil && $0.id == step.stepId) }
            if declared?.kind.isReadOnly != true { return true }
        }
        return false
    }
}
