/// `metric`: a Prometheus instant query held to `expect`. An empty result is no data
/// (inconclusive), never a pass and never zero.
struct MetricCheck {
    var http: any HTTPClient

    func run(_ step: MetricStep, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let base = try context.render(step.prometheus).plainValue
        let query = try context.render(step.query).plainValue
        let client = PrometheusClient(baseURL: base, http: http)
        let display = "prometheus \(URLMask.display(base)): \(query)"
        let result: PrometheusResult
        do {
            result = try await client.query(query)
        } catch {
            return StepOutcome(status: .failed, message: error.description, command: display,
                               measurements: [.init(kind: .metric, name: query, outcome: .error, expectation: step.expect?.source)])
        }
        let verdict: GateCheck.Verdict
        var value: Double?
        switch result {
        case .noData:
            verdict = GateCheck.noData("metric: no data (the query returned no series)", onNoData: step.onNoData)
        case .vector(let samples) where samples.count > 1:
            verdict = GateCheck.Verdict(status: .failed, outcome: .error,
                                        message: "metric: the query returned \(samples.count) series; a gate needs one number (aggregate it, e.g. sum(...))")
        default:
            value = result.singleValue
            if let v = value, v.isNaN {
                // A ratio over no traffic (0/0) is NaN: nothing was measured, so there is nothing to compare.
                value = nil
                verdict = GateCheck.noData("metric: the query returned NaN (a ratio over no traffic?)", onNoData: step.onNoData)
            } else if let value {
                verdict = GateCheck.evaluate(step.expect, in: context.expressionScope(["value": .number(value)]), onNoData: step.onNoData, what: "metric")
            } else {
                verdict = GateCheck.noData("metric: no value", onNoData: step.onNoData)
            }
        }
        var outcome = StepOutcome(status: verdict.status, message: verdict.message,
                                  evidence: .record(["value": value.map { .number($0) } ?? .null, "query": .string(query)]),
                                  command: display,
                                  measurements: [.init(kind: .metric, name: query, outcome: verdict.outcome, expectation: step.expect?.source, value: value)])
        if let value { outcome.sample = ["value": value] }
        return outcome
    }
}
