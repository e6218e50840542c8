import Foundation
import MarshalCore

/// Counts, across workers, what the abort rules need, and says when one can no longer pass.
final class AbortWatch: @unchecked Sendable {
    private let lock = NSLock()
    private let rules: [AbortRule]
    private let planned: Double
    private var errors = 0
    private var slow: [Int]
    private(set) var reason: String?

    init?(rules: [AbortRule], plannedRequests: Int) {
        guard !rules.isEmpty, plannedRequests > 0 else { return nil }
        self.rules = rules
        planned = Double(plannedRequests)
        slow = Array(repeating: 0, count: rules.count)
    }

    /// Records one finished request; true when the run should stop now.
    func observe(error: Bool, latency: Double, elapsed: Double) -> Bool {
        lock.withLock {
            if reason != nil { return false }
            if error { errors += 1 }
            for (i, rule) in rules.enumerated() {
                switch rule {
                case .errorRate(let limit):
                    if Double(errors) >= limit * planned {
                        reason = String(format: "%@ can no longer pass: %d errors of %.0f planned requests after %.1fs", rule.description, errors, planned, elapsed)
                    }
                case .latency(let quantile, let limit):
                    if !error && latency >= limit { slow[i] += 1 }
                    if Double(slow[i]) > (1 - quantile) * planned {
                        reason = String(format: "%@ can no longer pass: %d of %.0f planned requests took %.0fms or more after %.1fs", rule.description, slow[i], planned, limit * 1000, elapsed)
                    }
                }
                if reason != nil { return true }
            }
            return false
        }
    }
}
