import ArgumentParser
import Foundation
import MarshalCore
import MarshalLoading

/// What is left to undo of a run, read from the journal: its family's records, the journaled
/// runbook, and the undo plan with the operator's `--rerun`/`--skip` answers. One reading shared by
/// `marshal rollback` and by `resume` of a run that was rolling back, so both undo the same things.
struct PendingRollback {
    var runs: [RunRecord]
    var runbook: Runbook
    var includes: IncludeLoader
    var prepared: RunPreparation.Prepared
    var progress: PriorProgress
    var plan: UndoPlan

    static func load(_ run: RunRecord, environment: Environment, journal: any JournalStore,
                     rerun: [String], skip: [String]) async throws -> PendingRollback {
        let family = try await RunChain.family(of: run, journal: journal)
        let (runbook, includes) = try JournaledRunbook.load(for: run, against: environment)
        let prepared = try RunPreparation.prepare(runbook: runbook, environment: environment,
                                                  params: run.params.map { ($0.key, $0.value) }, limit: nil, approvals: [],
                                                  includes: includes)
        let progress = PriorProgress.from(family.records)
        let expanded = try prepared.expand(runbook.steps, of: runbook, in: environment, includes: includes)
        let plan = UndoPlan.make(steps: expanded, progress: progress, rerun: Set(rerun), skip: Set(skip))
        return PendingRollback(runs: family.runs, runbook: runbook, includes: includes, prepared: prepared, progress: progress, plan: plan)
    }

    /// The request of the run that carries the undos out (a `rollback`, or a `resume`), child of `parent`.
    func request(kind: RunRecord.Kind, parent: RunRecord, environment: Environment,
                 lockOptions: LockWaitOptions) throws -> RunRequest {
        let startedAt = SystemClock().date
        var request = RunRequest(
            runId: RunID.make(startedAt: startedAt), runbook: runbook, environment: environment, params: prepared.params,
            secrets: prepared.secrets, processEnvironment: ProcessInfo.processInfo.environment,
            operatorName: Operator.name, pid: getpid(), kind: kind, parentRunId: parent.id, startedAt: startedAt)
        request.prior = progress
        request.journalAsRead = RunChain.statuses(runs)
        try lockOptions.apply(to: &request)
        request.documents = JournaledRunbook.documents(of: parent)
        return request
    }
}
