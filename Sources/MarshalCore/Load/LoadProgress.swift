/// A load test's figures so far, as a generator publishes them while it runs (about once a second).
public struct LoadProgress: Sendable {
    /// Seconds since the first planned request.
    public var elapsed: Double
    public var requests: Int
    /// Requests that got an HTTP answer (any status): what `rps` counts.
    public var answered: Int
    public var errors: Int
    /// Seconds; nil before the first answer.
    public var p95: Double?

    public init(elapsed: Double, requests: Int, answered: Int, errors: Int, p95: Double?) {
        self.elapsed = elapsed
        self.requests = requests
        self.answered = answered
        self.errors = errors
        self.p95 = p95
    }
}

extension LoadGenerator {
    /// A generator that publishes nothing on the way still runs the plan.
    public func run(_ plan: LoadPlan, progress: (@Sendable (LoadProgress) -> Void)?) async throws(LoadError) -> LoadResult {
        try await run(plan)
    }
}

extension LoadPlan {
    /// The phase running `elapsed` seconds in, and the rate it plans at that moment (open loop).
    public func phase(at elapsed: Double) -> (name: String?, plannedRate: Double?) {
        guard case .openLoop(let phases) = mode else { return (nil, nil) }
        var start = 0.0
        for (i, p) in phases.enumerated() {
            let length = Double(p.duration.components.seconds) + Double(p.duration.components.attoseconds) / 1e18
            if elapsed < start + length || i == phases.count - 1 {
                let fraction = length > 0 ? min(1, max(0, (elapsed - start) / length)) : 1
                let rate = p.rampTo.map { p.rate + ($0 - p.rate) * fraction } ?? p.rate
                return (p.name ?? "\(i + 1) of \(phases.count)", rate)
            }
            start += length
        }
        return (nil, nil)
    }
}
