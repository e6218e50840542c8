import Foundation

extension Orchestrator {
    /// Stops the run; with `on_failure: rollback`, undoes every completed step that has an undo
    /// (or is a release) in reverse order, on exactly the hosts where it completed.
    func finishFailed(_ request: RunRequest, reason: String, status: RunResult.Status, executor: StepExecutor, writer: JournalWriter,
                      state: State, masker: SecretMasker, baseScope: TemplateScope, rollback: Bool) async -> RunResult {
        guard rollback, request.runbook.onFailure == .rollback else {
            var summary = reason
            if case .run(let other) = request.runbook.onFailure {
                summary += "; on_failure names \(other.source): run it with `marshal run \(other.source) -e \(request.environment.name)`"
            }
            return RunResult(runId: request.runId, status: status, summary: summary, failedHosts: state.failedHosts, undone: [])
        }
        services.observer.handle(.phaseStarted(name: "rollback"))
        var undone: [String] = []
        var undoFailures: [String] = []
        for completed in state.completed.reversed() {
            let original = completed.expanded.step
            let hostLabel = completed.host?.name ?? "this machine"
            var isRelease = false
            if case .release = original.kind { isRelease = true }
            guard isRelease || original.undoStep != nil else { continue }
            // A release always switches `current` back first; its own `undo` (say, a reload of the
            // app) then runs against the release that is live again.
            if isRelease, let host = completed.host, let evidence = completed.evidence {
                let outcome = await undoRelease(original, evidence: evidence, host: host, request: request, batch: completed.batch,
                                                executor: executor, writer: writer, masker: masker, baseScope: baseScope)
                if outcome.status == .succeeded { undone.append("\(original.name) on \(host.name)") } else {
                    undoFailures.append("undo of \(original.name) on \(host.name): \(outcome.message ?? "failed")")
                    continue
                }
            }
            if let undoStep = original.undoStep {
                var expanded = completed.expanded
                expanded.step = undoStep
                expanded.step.name = "undo \(original.name)" + (isRelease ? " (after switching back)" : "")
                let results = await runStep(expanded, hosts: [completed.host], phase: .undo, batch: completed.batch, request: request,
                                            baseScope: baseScope, executor: executor, writer: writer, state: state, masker: masker)
                for result in results.results {
                    if result.outcome.status == .succeeded || result.outcome.status == .skipped {
                        if !isRelease { undone.append("\(original.name) on \(hostLabel)") }
                    } else {
                        undoFailures.append("undo of \(original.name) on \(hostLabel): \(result.outcome.message ?? result.outcome.status.rawValue)")
                    }
                }
            }
        }
        var summary = reason + "; rolled back: " + (undone.isEmpty ? "nothing to undo" : undone.joined(separator: ", "))
        if !undoFailures.isEmpty { summary += "; UNDO FAILED: " + undoFailures.joined(separator: "; ") }
        return RunResult(runId: request.runId, status: undoFailures.isEmpty ? .rolledBack : .failed, summary: summary,
                         failedHosts: state.failedHosts, undone: undone)
    }

    /// A release's automatic undo, journaled as its own step record.
    private func undoRelease(_ step: Step, evidence: ConfigValue, host: HostSpec, request: RunRequest, batch: Int,
                             executor: StepExecutor, writer: JournalWriter, masker: SecretMasker, baseScope: TemplateScope) async -> StepOutcome {
        let record = StepRecord(runId: request.runId, stepIndex: 0, stepId: step.id, name: "undo \(step.name)", kind: "undo:release",
                                phase: .undo, host: host.name, batch: batch, startedAt: Date())
        let sequence = (try? await writer.start([record]))?.first
        let ref = RunEvent.StepRef(index: 0, name: "undo \(step.name)", kind: "release", phase: "undo", host: host.name, batch: batch)
        services.observer.handle(.stepStarted(ref))
        let context = StepContext(runId: request.runId, renderer: services.renderer, scope: baseScope, masker: masker,
                                  approvals: [], batch: batch)
        let started = ContinuousClock.now
        let outcome = await executor.undoRelease(evidence: evidence, host: host, context: context)
        if let sequence {
            await writer.finish(StepFinish(runId: request.runId, sequence: sequence, completion: StepCompletion(
                status: Self.recordStatus(outcome.status), endedAt: Date(), exitStatus: outcome.exitStatus,
                stdout: OutputExcerpt.make(bytes: outcome.stdout), stderr: OutputExcerpt.make(bytes: outcome.stderr),
                message: outcome.message)))
        }
        services.observer.handle(.stepFinished(ref, RunEvent.StepReport(status: outcome.status.rawValue, duration: (ContinuousClock.now - started).seconds,
                                                                       exitStatus: outcome.exitStatus, attempts: 1, message: outcome.message, output: nil)))
        return outcome
    }
}
