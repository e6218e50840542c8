import Foundation

/// Runs one step on one host (or once from this machine): `when`, `retries`/`delay`/`until`,
/// `timeout`, `ignore_failure`, then the kind's own work.
public struct StepExecutor: Sendable {
    public var connections: HostConnections
    public var gates: (any GateRunner)?
    public var redis: (any RedisClient)?

    public init(connections: HostConnections, gates: (any GateRunner)?, redis: (any RedisClient)? = nil) {
        self.connections = connections
        self.gates = gates
        self.redis = redis
    }

    /// A gate's measured values without judging them: the ends of a window. The error is for the operator.
    public func sample(_ step: Step, host: HostSpec?, context: StepContext) async -> Result<[String: Double], StepFailure> {
        var plain = step
        plain.kind = step.kind.withoutExpectation
        plain.over = nil
        var context = context
        context.window = nil
        let outcome = await measure(plain, host: host, context: context)
        if let sample = outcome.sample { return .success(sample) }
        return .failure(StepFailure(outcome.message ?? outcome.status.rawValue))
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

    /// A gate with `over:` measures at both ends of its window; anything else just runs.
    private func perform(_ step: Step, host: HostSpec?, context: StepContext) async -> StepOutcome {
        guard let over = step.over else { return await measure(step, host: host, context: context) }
        switch over {
        case .duration(let length):
            let first: [String: Double]
            switch await sample(step, host: host, context: context) {
            case .success(let values): first = values
            case .failure(let failure): return .failed("at the start of its \(over) window: \(failure.message)")
            }
            let started = context.clock.now
            try? await context.clock.sleep(for: length)
            if Task.isCancelled { return .failed("interrupted during its \(over) window") }
            var windowed = context
            windowed.window = WindowSample(start: first, seconds: (context.clock.now - started).seconds)
            return Self.withWindowEvidence(await measure(step, host: host, context: windowed), step: step, window: windowed.window)
        case .span(let id):
            guard context.window != nil else {
                // Without both ends there is nothing to compare: no data, never a pass.
                let reason = context.windowProblem ?? "step \(id) did not run before it in this batch"
                let verdict = GateCheck.noData("\(step.kind.name): not measured over step \(id) (\(reason))", onNoData: step.kind.noDataPolicy ?? .fail)
                return StepOutcome(status: verdict.status, message: verdict.message,
                                   measurements: [.init(kind: MeasurementKind(rawValue: step.kind.name) ?? .gate, name: "over step \(id)", outcome: verdict.outcome)])
            }
            return Self.withWindowEvidence(await measure(step, host: host, context: context), step: step, window: context.window)
        }
    }

    /// Adds `window` (start, end, delta, rates of `value` and what delta/rate read) to a gate's
    /// evidence; a redis check writes its own.
    static func withWindowEvidence(_ outcome: StepOutcome, step: Step, window: WindowSample?) -> StepOutcome {
        guard let window, let sample = outcome.sample else { return outcome }
        if step.kind.is(RedisStep.self) { return outcome }
        var outcome = outcome
        let names = Set(step.expressions.flatMap(\.windowedNames)).union(["value"]).sorted()
        let entry = ConfigEntry(key: "window", value: window.evidence(current: sample.mapValues { .number($0) }, names: names),
                                location: .synthetic("evidence"))
        if case .map(var entries)? = outcome.evidence {
            entries.append(entry)
            outcome.evidence = .map(entries)
        } else if outcome.evidence == nil {
            outcome.evidence = .map([entry])
        }
        return outcome
    }

    /// The kind's own work, through its plug-in; a failure to carry it out is a failed step.
    private func measure(_ step: Step, host: HostSpec?, context: StepContext) async -> StepOutcome {
        let sent = SentCommands()
        let target = StepTarget(host: host, connections: connections, gates: gates, executor: self, sent: sent, masker: context.masker,
                                redis: redis)
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
