/// `over:` on a numeric gate (probe, sql, redis, metric): measure at the start and the end of a
/// window, so `delta(x)` and `rate(x)` say what changed during it rather than since the server started.
public enum GateWindow: Sendable, Hashable, CustomStringConvertible {
    /// `over: 60s`: the gate measures, waits this long, and measures again.
    case duration(Duration)
    /// `over: load`: measured when the step with this id starts and when it ends (per batch).
    case span(stepId: String)

    public var description: String {
        switch self {
        case .duration(let d): DurationText.format(d)
        case .span(let id): "step \(id)"
        }
    }

    /// The kinds that measure numbers and so can be measured over a window.
    public static let kinds: Set<String> = ["probe", "sql", "redis", "metric"]
}

/// A gate that holds measured numbers to `expect`: what a window samples without judging.
protocol MeasuredGate: StepKindPlugin {
    var expect: Expression? { get set }
    var onNoData: NoDataPolicy { get }
}

extension ProbeStep: MeasuredGate {}
extension SQLStep: MeasuredGate {}
extension MetricStep: MeasuredGate {}
extension RedisStep: MeasuredGate {}

extension StepKind {
    /// The same gate without its expectation: what a window's samples run.
    public var withoutExpectation: StepKind {
        guard var gate = plugin as? any MeasuredGate else { return self }
        gate.expect = nil
        return StepKind(gate)
    }

    /// The gate's `on_no_data`, for kinds that have one.
    public var noDataPolicy: NoDataPolicy? {
        if let gate = plugin as? any MeasuredGate { return gate.onNoData }
        return self.as(BenchmarkStep.self)?.onNoData
    }
}
