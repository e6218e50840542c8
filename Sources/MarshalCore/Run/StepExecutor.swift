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
            try? await Task.sleep(for: step.delay)
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
            let started = ContinuousClock.now
            try? await Task.sleep(for: length)
            if Task.isCancelled { return .failed("interrupted during its \(over) window") }
            var windowed = context
            windowed.window = WindowSample(start: first, seconds: (ContinuousClock.now - started).seconds)
            return Self.withWindowEvidence(await measure(step, host: host, context: windowed), step: step, window: windowed.window)
        case .span(let id):
            guard context.window != nil else {
                // Without both ends there is nothing to compare: no data, never a pass.
                let reason = context.windowProblem ?? "step \(id) did not run before it in this batch"
                let verdict = GateCheck.noData("\(step.kind.name): not measured over step \(id) (\(reason))", onNoData: step.kind.noDataPolicy ?? .fail)
                return StepOutcome(status: verdict.status, message: verdict.message,
                                   measurements: [.init(kind: step.kind.name, name: "over step \(id)", outcome: verdict.outcome)])
            }
            return Self.withWindowEvidence(await measure(step, host: host, context: context), step: step, window: context.window)
        }
    }

    /// Adds `window` (start, end, delta, rates of `value` and what delta/rate read) to a gate's
    /// evidence; a redis check writes its own.
    static func withWindowEvidence(_ outcome: StepOutcome, step: Step, window: WindowSample?) -> StepOutcome {
        guard let window, let sample = outcome.sample else { return outcome }
        if case .redis = step.kind { return outcome }
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

    private func measure(_ step: Step, host: HostSpec?, context: StepContext) async -> StepOutcome {
        do throws(StepFailure) {
            switch step.kind {
            case .wait(let wait):
                try? await Task.sleep(for: wait.duration)
                if Task.isCancelled { return .failed("interrupted while waiting") }
                return StepOutcome(status: .succeeded, message: "waited \(DurationText.format(wait.duration))")
            case .approve(let approve):
                let message = try approve.message.map { (t: TemplateString) throws(StepFailure) in try context.render(t).plainDisplay }
                if context.isApproved(step) {
                    return StepOutcome(status: .succeeded, message: "approved with --approve" + (message.map { ": \($0)" } ?? ""))
                }
                return StepOutcome(status: .paused, message: "waiting for approval\(message.map { ": \($0)" } ?? ""); " + context.resumeHint(for: step))
            case .soak(let soak):
                return await SoakRunner(executor: self).run(soak, host: host, context: context)
            case .http(let h), .health(let h):
                // With `on:`, the request is sent from that host with its curl; otherwise from here.
                if step.on != nil, let host {
                    switch await connections.executor(for: host) {
                    case .success(let remote):
                        return try await HTTPCheck(http: RemoteCurlClient(executor: remote)).run(h, kind: step.kind.name, context: context)
                    case .failure(let error):
                        return StepOutcome(status: .failed, message: context.masker.mask(error.description))
                    }
                }
                guard let gates else {
                    return .failed("\(step.kind.name) steps need the HTTP adapter, which this command was not built with")
                }
                return await gates.run(step, host: host, context: context)
            case .metric, .benchmark, .notify:
                guard let gates else {
                    return .failed("\(step.kind.name) steps need the HTTP adapter, which this command was not built with")
                }
                return await gates.run(step, host: host, context: context)
            case .redis(let redisStep):
                guard let redis else {
                    return .failed("redis steps need the Redis adapter, which this command was not built with")
                }
                return try await RedisRunner(client: redis).run(redisStep, context: context)
            case .include:
                return .failed("an include step must be expanded before it runs")
            default:
                break
            }
            guard let host else { return .failed("a \(step.kind.name) step needs a host") }
            let executor: any RemoteExecutor
            switch await connections.executor(for: host) {
            case .success(let e): executor = e
            case .failure(let error): return StepOutcome(status: .failed, message: context.masker.mask(error.description))
            }
            switch step.kind {
            case .shell(let shell):
                var command = try context.render(shell.command)
                if let chdir = shell.chdir {
                    command = ShellCommand([.literal("cd ")] + (try context.render(chdir)).quotedFragments + [.literal(" && ")]) + command
                }
                return await RemoteCommand.run(command, on: executor, timeout: step.timeout, context: context).outcome
            case .probe(let probe):
                return try await ProbeRunner.run(probe, on: executor, timeout: step.timeout, host: host.name, context: context)
            case .sql(let sql):
                return try await SQLRunner.run(sql, on: executor, timeout: step.timeout, context: context)
            case .service(let service):
                return try await ServiceRunner.run(service, on: executor, timeout: step.timeout, context: context)
            case .backup(let backup):
                return try await DatabaseRunners.backup(backup, on: executor, timeout: step.timeout, context: context)
            case .restore(let restore):
                return try await DatabaseRunners.restore(restore, on: executor, timeout: step.timeout, context: context)
            case .migrate(let migrate):
                return try await DatabaseRunners.migrate(migrate, on: executor, timeout: step.timeout, context: context)
            case .release(let release):
                return try await ReleaseRunner.run(release, on: executor, timeout: step.timeout, context: context)
            case .upload(let upload):
                return try await UploadRunner.run(upload, on: executor, context: context)
            default:
                return .failed("unexpected step kind \(step.kind.name)")
            }
        } catch {
            return StepOutcome(status: .failed, message: context.masker.mask(error.message))
        }
    }

    /// Undo of a release without an explicit `undo`: switch back using the recorded evidence.
    public func undoRelease(evidence: ConfigValue, host: HostSpec, context: StepContext) async -> StepOutcome {
        switch await connections.executor(for: host) {
        case .success(let executor): return await ReleaseRunner.undo(evidence: evidence, on: executor, context: context)
        case .failure(let error): return StepOutcome(status: .failed, message: error.description)
        }
    }
}
