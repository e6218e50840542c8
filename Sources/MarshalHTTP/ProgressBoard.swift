import Foundation
import MarshalCore

/// Where load workers post their tallies about once a second; merged, they become the test's
/// figures so far, handed to the caller's progress callback (at most about once a second).
final class ProgressBoard: @unchecked Sendable {
    private let lock = NSLock()
    private var tallies: [Int: WorkerTally] = [:]
    private var lastReport: UInt64 = 0
    private let startNanos: UInt64
    private let report: @Sendable (LoadProgress) -> Void

    init(startNanos: UInt64, report: @escaping @Sendable (LoadProgress) -> Void) {
        self.startNanos = startNanos
        self.report = report
    }

    /// Called by worker `index` on its own thread with a copy of its tally.
    func post(_ index: Int, _ tally: WorkerTally, now: UInt64) {
        let merged: WorkerTally? = lock.withLock {
            tallies[index] = tally
            guard now >= lastReport + 900_000_000 else { return nil }
            lastReport = now
            var all: WorkerTally?
            for t in tallies.values {
                if all == nil { all = t } else { all!.merge(t) }
            }
            return all
        }
        guard let all = merged else { return }
        let errors = all.scenarioErrors.reduce(ErrorCounts(), +)
        let count = all.scenarioCount.reduce(0, +)
        report(LoadProgress(
            elapsed: now > startNanos ? Double(now - startNanos) / 1e9 : 0, requests: count,
            answered: count - errors.connect - errors.timeout - errors.other, errors: errors.total,
            p95: all.latency.totalCount > 0 ? Double(all.latency.valueAtPercentile(95)) / 1e6 : nil))
    }
}
