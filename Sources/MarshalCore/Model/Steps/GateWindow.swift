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

extension StepKind {
    /// The same gate without its expectation: what a window's first sample runs.
    public var withoutExpectation: StepKind {
        switch self {
        case .probe(var p): p.expect = nil; return .probe(p)
        case .sql(var s): s.expect = nil; return .sql(s)
        case .metric(var m): m.expect = nil; return .metric(m)
        case .redis(var r): r.expect = nil; return .redis(r)
        default: return self
        }
    }

    /// The gate's `on_no_data`, for kinds that have one.
    public var noDataPolicy: NoDataPolicy? {
        switch self {
        case .probe(let p): p.onNoData
        case .sql(let s): s.onNoData
        case .metric(let m): m.onNoData
        case .redis(let r): r.onNoData
        case .benchmark(let b): b.onNoData
        default: nil
        }
    }
}
