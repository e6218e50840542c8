import Foundation

/// `benchmark`: the built-in load generator, then every threshold held to the measured metrics.
/// Zero completed requests is no data: inconclusive, never a pass.
struct BenchmarkGate {
    var load: any LoadGenerator

    func plan(_ step: BenchmarkStep, context: StepContext) throws(StepFailure) -> LoadPlan {
        let base = try context.render(step.baseURL).plainValue
        var scenarios: [LoadPlan.Scenario] = []
        for scenario in step.scenarios {
            var headers: [(name: String, value: String)] = []
            for (name, value) in scenario.headers.sorted(by: { $0.key < $1.key }) { headers.append((name, try context.render(value).plainValue)) }
            var body: [UInt8] = []
            if let json = scenario.json {
                body = Array(try JSONBody.render(json, context: context).jsonText.utf8)
                headers.append(("Content-Type", "application/json"))
            }
            scenarios.append(LoadPlan.Scenario(name: scenario.name, method: scenario.method, path: try context.render(scenario.path).plainValue,
                                               headers: headers, body: body, weight: scenario.weight,
                                               expectStatus: scenario.expectStatus.isEmpty ? nil : scenario.expectStatus))
        }
        let mode: LoadPlan.Mode
        if let users = step.users {
            mode = .users(LoadPlan.Users(count: users, thinkTime: step.thinkTime, duration: step.duration ?? .seconds(10), rampUp: step.rampUp))
        } else if let connections = step.connections {
            mode = .closedLoop(connections: connections, duration: step.duration ?? .seconds(10))
        } else {
            mode = .openLoop(phases: step.phases)
        }
        return LoadPlan(baseURL: base, mode: mode, threads: step.threads, scenarios: scenarios, maxInFlight: step.maxInFlight ?? 1000,
                        connections: step.connections, abortRules: Self.abortRules(step.thresholds))
    }

    func run(_ step: BenchmarkStep, context: StepContext) async throws(StepFailure) -> StepOutcome {
        if step.targets == .batch { return try await runOnHosts(step, context: context) }
        let plan = try plan(step, context: context)
        let display = "load \(URLMask.display(plan.baseURL)) for \(DurationText.format(step.plannedDuration))"
        let result: LoadResult
        do {
            let total = step.plannedDuration.seconds
            let report = context.progress.map { report in
                { @Sendable (so: LoadProgress) in
                    let (phase, planned) = plan.phase(at: so.elapsed)
                    report(StepProgress(elapsed: so.elapsed, total: total, phase: phase,
                                        rate: so.elapsed > 0 ? Double(so.answered) / so.elapsed : 0, plannedRate: planned,
                                        p95: so.p95, requests: so.requests, errors: so.errors))
                }
            }
            result = try await load.run(plan, progress: report)
        } catch {
            return StepOutcome(status: .failed, message: "load test could not run: \(error)", command: display)
        }
        let metrics = result.metrics
        var measurements: [StepOutcome.Measurement] = []
        let payload = (try? JSONEncoder().encode(result)).map { String(decoding: $0, as: UTF8.self) }
        measurements.append(.init(kind: .benchmark, name: plan.baseURL, value: result.overall.rps, unit: "req/s", payloadJSON: payload))
        var failures: [String] = []
        var status: StepOutcome.Status = .succeeded
        if let aborted = result.aborted {
            status = .failed
            failures.append("stopped early: \(aborted)")
        } else if Task.isCancelled {
            // Ctrl-C: the plan did not run to its end, so its figures cannot pass a gate.
            status = .failed
            failures.append("interrupted before the planned end")
        }
        if result.overall.count == 0 {
            let verdict = GateCheck.noData("benchmark: no request completed", onNoData: step.onNoData)
            status = verdict.status
            failures.append(verdict.message)
        }
        Self.hold(step.thresholds, onNoData: step.onNoData, to: metrics, context: context,
                  status: &status, failures: &failures, measurements: &measurements)
        let o = result.overall
        let summary = String(format: "%d requests, %.1f req/s, ", o.count, o.rps)
            + "p50 \(o.latency.ms(\.p50)), p95 \(o.latency.ms(\.p95)), p99 \(o.latency.ms(\.p99)), "
            + String(format: "errors %.2f%%, dropped %d", o.errorRate * 100, o.dropped)
            + (result.errorSamplesText.map { " (first errors: \($0))" } ?? "")
        return StepOutcome(status: status, message: failures.isEmpty ? summary : summary + "; " + failures.joined(separator: "; "),
                           evidence: .map(metrics.keys.sorted().map { ConfigEntry(key: $0, value: .number(metrics[$0]!), location: .synthetic("benchmark")) }),
                           command: display, measurements: measurements)
    }

    /// `abort_on_fail` thresholds the generator can judge while running: overall `error_rate < X`
    /// and `pNN < T`. Others are evaluated at the end as usual.
    static func abortRules(_ thresholds: [BenchmarkStep.Threshold]) -> [AbortRule] {
        thresholds.filter(\.abortOnFail).compactMap { threshold in
            let parts = threshold.condition.source.split(separator: "<", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[1].hasPrefix("="), parts[0] == threshold.metric,
                  let expression = try? Expression.parse(parts[1], at: threshold.condition.location),
                  case .number(let limit)? = try? expression.evaluate(in: DictionaryScope()) else { return nil }
            if threshold.metric == "error_rate" { return .errorRate(below: limit) }
            let quantiles = ["p50": 0.50, "p75": 0.75, "p90": 0.90, "p95": 0.95, "p99": 0.99]
            return quantiles[threshold.metric].map { .latency(quantile: $0, below: limit) }
        }
    }

    /// Every threshold held to the measured metrics, one measurement each: a failed one fails
    /// the step, an inconclusive one (no data) leaves it inconclusive unless it already failed.
    static func hold(_ thresholds: [BenchmarkStep.Threshold], onNoData: NoDataPolicy, to metrics: [String: Double], context: StepContext,
                     status: inout StepOutcome.Status, failures: inout [String], measurements: inout [StepOutcome.Measurement]) {
        let scope = context.expressionScope(metrics.mapValues { ExprValue.number($0) })
        for threshold in thresholds {
            let verdict = GateCheck.evaluate(threshold.condition, in: scope, onNoData: onNoData, what: "threshold \(threshold.condition.source)")
            measurements.append(.init(kind: .threshold, name: threshold.metric, outcome: verdict.outcome, expectation: threshold.condition.source,
                                      value: metrics[threshold.metric], unit: Self.unit(threshold.metric)))
            if verdict.status != .succeeded {
                failures.append(verdict.message)
                if status == .succeeded || verdict.status == .failed { status = verdict.status }
            }
        }
    }

    static func unit(_ metric: String) -> String? {
        let name = metric.split(separator: ".").last.map(String.init) ?? metric
        switch name {
        case "p50", "p75", "p90", "p95", "p99", "max", "min", "avg": return "s"
        case "rps": return "req/s"
        case "error_rate", "success_rate": return "ratio"
        default: return nil
        }
    }

    // MARK: - targets: batch, compare: stable

    /// One load test per host of the batch (and with `compare: stable`, per host not yet
    /// updated), all at the same time, each with the step's full plan. A side's figure is its
    /// slowest host's (highest latency and error rate, lowest throughput), so one bad canary
    /// cannot hide behind a good one; every host's figures are kept as measurements.
    func runOnHosts(_ step: BenchmarkStep, context: StepContext) async throws(StepFailure) -> StepOutcome {
        guard let targets = context.loadTargets, !targets.canary.isEmpty else {
            return StepOutcome(status: .failed, message: "load test: 'targets: batch' and no host of this batch is left to load")
        }
        if step.compare == .stable, targets.stable.isEmpty {
            return StepOutcome(status: .skipped, message: "canary against stable: every target host is updated by this batch, so no host is left on the stable version to compare with (the comparison ran in the batches before)")
        }
        struct Side: Sendable { var side: String; var host: String; var plan: LoadPlan }
        var sides: [Side] = []
        for (side, scopes) in [("canary", targets.canary), ("stable", step.compare == .stable ? targets.stable : [])] {
            for scope in scopes {
                var hostContext = context
                hostContext.scope = scope
                sides.append(Side(side: side, host: scope.host?.name ?? "?", plan: try plan(step, context: hostContext)))
            }
        }
        let load = self.load
        let progress = context.progress
        let total = step.plannedDuration.seconds
        let first = sides[0].plan
        // Every load test starts together, so canary and stable see the same moment's conditions.
        let results: [(Int, Result<LoadResult, LoadError>)] = await withTaskGroup(of: (Int, Result<LoadResult, LoadError>).self) { group in
            for (i, side) in sides.enumerated() {
                group.addTask {
                    let report: (@Sendable (LoadProgress) -> Void)? = i == 0 ? progress.map { report in
                        { @Sendable (so: LoadProgress) in
                            let (phase, planned) = first.phase(at: so.elapsed)
                            report(StepProgress(elapsed: so.elapsed, total: total, phase: phase,
                                                rate: so.elapsed > 0 ? Double(so.answered) / so.elapsed : 0, plannedRate: planned,
                                                p95: so.p95, requests: so.requests, errors: so.errors))
                        }
                    } : nil
                    // The result is built first and paired with its index after the do/catch: a tuple
                    // returned from inside a typed-throws `do` in this task came back with index 0 or
                    // garbage in release builds (Swift 6.3.1), mislabelling hosts or trapping.
                    let result: Result<LoadResult, LoadError>
                    do throws(LoadError) {
                        result = .success(try await load.run(side.plan, progress: report))
                    } catch {
                        result = .failure(error)
                    }
                    return (i, result)
                }
            }
            var all: [(Int, Result<LoadResult, LoadError>)] = []
            for await item in group { all.append(item) }
            return all.sorted { $0.0 < $1.0 }
        }
        var measurements: [StepOutcome.Measurement] = []
        var failures: [String] = []
        var perSide: [String: [(host: String, result: LoadResult)]] = [:]
        var lines: [String] = []
        for (i, outcome) in results {
            let side = sides[i]
            switch outcome {
            case .failure(let error):
                failures.append("load test of \(side.side) \(side.host) could not run: \(error)")
            case .success(let result):
                perSide[side.side, default: []].append((side.host, result))
                let payload = (try? JSONEncoder().encode(result)).map { String(decoding: $0, as: UTF8.self) }
                var m = StepOutcome.Measurement(kind: .benchmark, name: "\(side.side) \(side.host): \(side.plan.baseURL)",
                                                value: result.overall.rps, unit: "req/s", payloadJSON: payload)
                m.host = side.host
                measurements.append(m)
                let o = result.overall
                lines.append("\(side.side) \(side.host): " + String(format: "%d requests, ", o.count)
                             + "p50 \(o.latency.ms(\.p50)), p95 \(o.latency.ms(\.p95)), " + String(format: "errors %.2f%%", o.errorRate * 100))
                if let aborted = result.aborted { failures.append("\(side.side) \(side.host) stopped early: \(aborted)") }
            }
        }
        var metrics = Self.worst(perSide["canary", default: []].map(\.result.metrics))
        if step.compare == .stable {
            for name in BenchmarkStep.sides {
                for (key, value) in Self.worst(perSide[name, default: []].map(\.result.metrics)) { metrics["\(name).\(key)"] = value }
            }
        }
        var status: StepOutcome.Status = failures.isEmpty ? .succeeded : .failed
        if Task.isCancelled {
            status = .failed
            failures.append("interrupted before the planned end")
        }
        let answered = perSide.values.flatMap { $0 }.allSatisfy { $0.result.overall.count > 0 }
        if !answered || perSide["canary"] == nil {
            let verdict = GateCheck.noData("benchmark: a load test completed no request", onNoData: step.onNoData)
            if status == .succeeded { status = verdict.status }
            failures.append(verdict.message)
        }
        Self.hold(step.thresholds, onNoData: step.onNoData, to: metrics, context: context,
                  status: &status, failures: &failures, measurements: &measurements)
        let summary = lines.joined(separator: "; ")
        var evidence = metrics.keys.sorted().map { ConfigEntry(key: $0, value: .number(metrics[$0]!), location: .synthetic("benchmark")) }
        for name in BenchmarkStep.sides where perSide[name] != nil {
            evidence.append(ConfigEntry(key: name + "_hosts", value: .list(perSide[name]!.map { .string($0.host) }), location: .synthetic("benchmark")))
        }
        let display = sides.map { "\($0.side) \(URLMask.display($0.plan.baseURL))" }.joined(separator: ", ")
        return StepOutcome(status: status, message: failures.isEmpty ? summary : summary + "; " + failures.joined(separator: "; "),
                           evidence: .map(evidence), command: "load \(display) for \(DurationText.format(step.plannedDuration))",
                           measurements: measurements)
    }

    /// The worst of several hosts' figures: the highest latency, error rate and error counts, the
    /// lowest throughput, success rate, request count and users reached (overall and per scenario).
    /// One host: its own figures. A figure some host lacks (it answered no request, so it has no p95) is left out,
    /// so the threshold has no data: a dead host must not hide behind a live one's latency.
    static func worst(_ all: [[String: Double]]) -> [String: Double] {
        guard let first = all.first else { return [:] }
        let lowerIsWorse: Set<String> = ["rps", "success_rate", "requests", "users"]
        var out: [String: Double] = [:]
        for key in first.keys {
            let values = all.compactMap { $0[key] }
            guard values.count == all.count else { continue }
            let metric = key.split(separator: ".").last.map(String.init) ?? key
            out[key] = lowerIsWorse.contains(metric) ? values.min() : values.max()
        }
        return out
    }
}
