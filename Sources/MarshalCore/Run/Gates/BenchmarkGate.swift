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
        let scope = context.expressionScope(metrics.mapValues { ExprValue.number($0) })
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
        for threshold in step.thresholds {
            let verdict = GateCheck.evaluate(threshold.condition, in: scope, onNoData: step.onNoData, what: "threshold \(threshold.condition.source)")
            measurements.append(.init(kind: .threshold, name: threshold.metric, outcome: verdict.outcome, expectation: threshold.condition.source,
                                      value: metrics[threshold.metric], unit: Self.unit(threshold.metric)))
            if verdict.status != .succeeded {
                failures.append(verdict.message)
                if status == .succeeded || verdict.status == .failed { status = verdict.status }
            }
        }
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

    static func unit(_ metric: String) -> String? {
        let name = metric.split(separator: ".").last.map(String.init) ?? metric
        switch name {
        case "p50", "p75", "p90", "p95", "p99", "max", "min", "avg": return "s"
        case "rps": return "req/s"
        case "error_rate", "success_rate": return "ratio"
        default: return nil
        }
    }
}
