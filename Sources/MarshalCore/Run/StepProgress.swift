import Foundation

/// How far a long step (load test, soak, wait, `within:` retries) has got, reported about once a
/// second while it runs; the CLI draws it on a terminal, prints it every 10 s otherwise.
public struct StepProgress: Sendable, Encodable {
    public var elapsed: Double
    public var total: Double?
    public var phase: String?
    /// Answered requests per second so far, and what the plan asks for now.
    public var rate: Double?
    public var plannedRate: Double?
    /// Seconds.
    public var p95: Double?
    public var requests: Int?
    public var errors: Int?

    public init(elapsed: Double, total: Double? = nil, phase: String? = nil, rate: Double? = nil, plannedRate: Double? = nil,
                p95: Double? = nil, requests: Int? = nil, errors: Int? = nil) {
        self.elapsed = elapsed
        self.total = total
        self.phase = phase
        self.rate = rate
        self.plannedRate = plannedRate
        self.p95 = p95
        self.requests = requests
        self.errors = errors
    }

    /// `0:05/0:10 · phase steady · 5.0 req/s (plan 5) · p95 4.1 ms · 50 requests, 0 errors`
    public var text: String {
        func clock(_ s: Double) -> String {
            let whole = Int(s.rounded(.down))
            return whole >= 3600 ? String(format: "%d:%02d:%02d", whole / 3600, whole / 60 % 60, whole % 60) : String(format: "%d:%02d", whole / 60, whole % 60)
        }
        var parts = [clock(elapsed) + (total.map { "/" + clock($0) } ?? "")]
        if let phase { parts.append("phase \(phase)") }
        if let rate {
            parts.append(String(format: "%.1f req/s", rate) + (plannedRate.map { " (plan \(PlanDescription.number(($0 * 10).rounded() / 10)))" } ?? ""))
        }
        if let p95 { parts.append(String(format: "p95 %.1f ms", p95 * 1000)) }
        if let requests { parts.append("\(requests) requests, \(errors ?? 0) error\(errors == 1 ? "" : "s")") }
        return parts.joined(separator: " · ")
    }
}
