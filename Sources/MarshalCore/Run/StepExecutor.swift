import Foundation

/// Runs one step on one host (or once from this machine): `when`, `retries`/`delay`/`until`,
/// `timeout`, `ignore_failure`, then the kind's own work.
public struct StepExecutor: Sendable {
    public var connections: HostConnections
    public var gates: (any GateRunner)?

    public init(connections: HostConnections, gates: (any GateRunner)?) {
        self.connections = connections
        self.gates = gates
    }

    public func execute(_ step: Step, host: HostSpec?, context: StepContext) async -> StepOutcome {
        if let when = step.when {
            do {
                if try !when.test(in: context.expressionScope()) {
                    return StepOutcome(status: .skipped, message: "skipped: when \(when.source) is false")
                }
            } catch {
                return .failed("\(when.location): 'when' could not be evaluated: \(error)")
            }
        }
        var attempt = 0
        var outcome: StepOutcome
        repeat {
            attempt += 1
            outcome = await perform(step, host: host, context: context)
            outcome.attempts = attempt
            if outcome.status == .succeeded, let until = step.until {
                var values: [String: ExprValue] = [:]
                if case .map(let entries)? = outcome.evidence {
                    for entry in entries { values[entry.key] = ExprValue(entry.value) }
                }
                do {
                    if try !until.test(in: context.expressionScope(values)) {
                        outcome.status = .failed
                        outcome.message = "until \(until.source) not met: \(until.explain(in: context.expressionScope(values)))"
                    }
                } catch {
                    outcome.status = .failed
                    outcome.message = "until \(until.source): \(error)"
                }
            }
            let retryable = outcome.status == .failed || outcome.status == .timedOut || outcome.status == .inconclusive
            if !retryable || attempt > step.retries || Task.isCancelled { break }
            try? await context.clock.sleep(for: step.delay)
        } while true
        if outcome.status == .paused, !step.kind.isApprove {
            // A gate with no data and `on_no_data: pause`: the operator decides, as at an approve
            // step. Approving it accepts the missing data; the measurement stays inconclusive.
            if context.isApproved(step) {
                outcome.status = .succeeded
                outcome.message = (outcome.message ?? "no data") + "; accepted with --approve"
            } else {
                outcome.message = (outcome.message ?? "no data") + "; " + context.resumeHint(for: step)
            }
        }
        if outcome.status.isFailure, step.ignoreFailure {
            outcome.message = "ignored failure: " + (outcome.message ?? outcome.status.rawValue)
            outcome.status = .ignoredFailure
        }
        return outcome
    }

    /// The kind's own work, through its plug-in; a failure to carry it out is a failed step.
    private func perform(_ step: Step, host: HostSpec?, context: StepContext) async -> StepOutcome {
        let sent = SentCommands()
        let target = StepTarget(host: host, connections: connections, gates: gates, executor: self, sent: sent, masker: context.masker)
        var outcome: StepOutcome
        do throws(StepFailure) {
            outcome = try await step.kind.plugin.run(step, on: target, context: context)
        } catch {
            outcome = StepOutcome(status: .failed, message: context.masker.mask(error.message))
        }
        // What reached the host is the record; a kind's own summary is kept only when it sent
        // nothing through the host's connection (an HTTP request from here).
        if let text = sent.text { outcome.command = text }
        return outcome
    }

    /// Undo of a release without an explicit `undo`: switch back using the recorded evidence.
    public func undoRelease(evidence: ConfigValue, host: HostSpec, context: StepContext) async -> StepOutcome {
        switch await connections.executor(for: host) {
        case .success(let executor): return await ReleaseRunner.undo(evidence: evidence, on: executor, context: context)
        case .failure(let error): return StepOutcome(status: .failed, message: error.description)
        }
    }
}
