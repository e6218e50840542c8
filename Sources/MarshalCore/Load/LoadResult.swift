import Foundation

/// What a load test measured. Times are in seconds.
public struct LoadResult: Sendable, Codable, Hashable {
    /// `open` or `closed`.
    public var mode: String
    /// From the first planned send until the last answer (or abandonment).
    public var duration: Double
    public var overall: LoadStats
    /// In plan order.
    public var scenarios: [LoadStats]
    /// Open loop only: one entry per phase.
    public var phases: [PhaseStats]
    /// One entry per second of the run, from its start.
    public var perSecond: [SecondStats]

    /// Why the run stopped before its planned end, when a threshold could no longer pass.
    public var aborted: String?

    /// Virtual-user runs only: how many users ran and how closely they kept their pace.
    public var users: UserStats?

    /// The first failure of each error class (`connect`, `timeout`, `other`, `status`,
    /// `expectation`) in words, e.g. "SSL certificate problem: self-signed certificate".
    public var errorSamples: [String: String]?

    /// "other: SSL certificate problem…; status: GET /x answered 503", in a stable order; nil without errors.
    public var errorSamplesText: String? {
        guard let samples = errorSamples, !samples.isEmpty else { return nil }
        let order = ["connect", "timeout", "status", "expectation", "other"]
        return samples.sorted { (order.firstIndex(of: $0.key) ?? 9) < (order.firstIndex(of: $1.key) ?? 9) }
            .map { "\($0.key): \($0.value)" }.joined(separator: "; ")
    }

    public init(mode: String, duration: Double, overall: LoadStats, scenarios: [LoadStats], phases: [PhaseStats], perSecond: [SecondStats],
                aborted: String? = nil) {
        self.aborted = aborted
        self.mode = mode
        self.duration = duration
        self.overall = overall
        self.scenarios = scenarios
        self.phases = phases
        self.perSecond = perSecond
    }

    /// Names for threshold expressions: `p95`, `error_rate`, … overall and `scenario.p95` per scenario.
    /// Latencies are the coordinated-omission-corrected ones, in seconds; `error_rate` is a fraction.
    public var metrics: [String: Double] {
        var all = overall.metrics
        if let users { all["users"] = Double(users.served) }
        for s in scenarios {
            for (k, v) in s.metrics { all["\(s.name).\(k)"] = v }
        }
        return all
    }
}

/// Counts and latencies of one scenario, or of all.
public struct LoadStats: Sendable, Codable, Hashable {
    public var name: String
    /// Requests that finished, with an answer or an error.
    public var count: Int
    public var errors: ErrorCounts
    /// Requests never sent because `maxInFlight` were already in flight at their planned time.
    public var dropped: Int
    /// Answered requests (any HTTP status, as wrk counts them) per second of `duration`; requests
    /// that got no answer (refused, timed out, broken) are in `count` and the errors, not here.
    public var rps: Double
    public var duration: Double
    /// Open loop: from each request's planned send time, so waiting behind a stall counts
    /// (coordinated omission corrected). Closed loop: the same as `serviceTime`.
    public var latency: LatencySummary
    /// From the moment the request was handed to a connection until the answer was read.
    public var serviceTime: LatencySummary
    /// Every recorded latency behind `latency` and `serviceTime`, so any percentile can be
    /// computed again later from the journal (nil in results recorded before they were kept).
    public var latencyHistogram: LatencyHistogram?
    public var serviceTimeHistogram: LatencyHistogram?

    public init(name: String, count: Int, errors: ErrorCounts, dropped: Int, rps: Double, duration: Double, latency: LatencySummary, serviceTime: LatencySummary,
                latencyHistogram: LatencyHistogram? = nil, serviceTimeHistogram: LatencyHistogram? = nil) {
        self.latencyHistogram = latencyHistogram
        self.serviceTimeHistogram = serviceTimeHistogram
        self.name = name
        self.count = count
        self.errors = errors
        self.dropped = dropped
        self.rps = rps
        self.duration = duration
        self.latency = latency
        self.serviceTime = serviceTime
    }

    public var errorRate: Double { count == 0 ? 0 : Double(errors.total) / Double(count) }

    /// Latency names are present only when some answer was timed: with every request failed
    /// (refused, timed out) a `p95 < 500ms` threshold has no data, never a p95 of 0.
    /// Every name `metrics` can hold, for checking thresholds before a run (`mean` is `avg`'s alias).
    public static let metricNames = ["p50", "p75", "p90", "p95", "p99", "max", "min", "avg", "mean", "rps", "error_rate", "success_rate", "requests", "errors", "dropped", "users"]

    public var metrics: [String: Double] {
        // success_rate is 1 - error_rate, for targets written the way reference 001 writes them ("> 99%").
        var all = ["rps": rps, "error_rate": errorRate, "success_rate": 1 - errorRate, "requests": Double(count), "errors": Double(errors.total), "dropped": Double(dropped)]
        if latency.count > 0 {
            for (key, value) in [("p50", latency.p50), ("p75", latency.p75), ("p90", latency.p90), ("p95", latency.p95), ("p99", latency.p99),
                                 ("max", latency.max), ("min", latency.min), ("avg", latency.mean), ("mean", latency.mean)] {
                all[key] = value
            }
        }
        return all
    }
}

/// Failed requests by cause.
public struct ErrorCounts: Sendable, Codable, Hashable {
    /// Could not connect (refused, unreachable, name not resolved).
    public var connect: Int
    public var timeout: Int
    /// Answered with a status of 400 or more, when the scenario names no expected statuses.
    public var status: Int
    /// Answered with a status the scenario's `expectStatus` does not list.
    public var expectation: Int
    /// Anything else: TLS, connection reset, malformed answers.
    public var other: Int

    public init(connect: Int = 0, timeout: Int = 0, status: Int = 0, expectation: Int = 0, other: Int = 0) {
        self.connect = connect
        self.timeout = timeout
        self.status = status
        self.expectation = expectation
        self.other = other
    }

    public var total: Int { connect + timeout + status + expectation + other }

    public static func + (a: ErrorCounts, b: ErrorCounts) -> ErrorCounts {
        ErrorCounts(connect: a.connect + b.connect, timeout: a.timeout + b.timeout, status: a.status + b.status,
                    expectation: a.expectation + b.expectation, other: a.other + b.other)
    }
}

/// A latency distribution in seconds; all zero when nothing was measured (`count` 0).
public struct LatencySummary: Sendable, Codable, Hashable {
    public var count: Int
    public var min: Double
    public var mean: Double
    public var stdDev: Double
    public var p50: Double
    public var p75: Double
    public var p90: Double
    public var p95: Double
    public var p99: Double
    public var p999: Double
    public var max: Double

    public init(count: Int, min: Double, mean: Double, stdDev: Double, p50: Double, p75: Double, p90: Double, p95: Double, p99: Double, p999: Double, max: Double) {
        self.count = count
        self.min = min
        self.mean = mean
        self.stdDev = stdDev
        self.p50 = p50
        self.p75 = p75
        self.p90 = p90
        self.p95 = p95
        self.p99 = p99
        self.p999 = p999
        self.max = max
    }

    public static let empty = LatencySummary(count: 0, min: 0, mean: 0, stdDev: 0, p50: 0, p75: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0)

    /// `value` in milliseconds for messages ("601 ms", "0.42 ms"), or "not measured" when no answer was timed.
    public func ms(_ value: KeyPath<LatencySummary, Double>) -> String {
        count > 0 ? Self.milliseconds(self[keyPath: value]) : "not measured"
    }

    /// Seconds as milliseconds for people: two decimals under 10 ms, whole above ("0.42 ms", "601 ms").
    public static func milliseconds(_ seconds: Double) -> String {
        seconds < 0.01 ? String(format: "%.2f ms", seconds * 1000) : String(format: "%.0f ms", seconds * 1000)
    }

    /// Same as `mean`; reports from our users call it "avg".
    public var avg: Double { mean }
}

/// How closely one open-loop phase kept its planned pace.
public struct PhaseStats: Sendable, Codable, Hashable {
    public var index: Int
    /// The phase's `name` in the runbook (`warm-up`, `peak`), when it has one.
    public var name: String?
    public var duration: Double
    public var plannedRate: Double
    public var plannedRampTo: Double?
    public var planned: Int
    /// Requests sent while the phase lasted.
    public var sent: Int
    public var dropped: Int
    /// `sent` per second of the phase.
    public var achievedRate: Double

    public init(index: Int, name: String? = nil, duration: Double, plannedRate: Double, plannedRampTo: Double?, planned: Int, sent: Int,
                dropped: Int, achievedRate: Double) {
        self.index = index
        self.name = name
        self.duration = duration
        self.plannedRate = plannedRate
        self.plannedRampTo = plannedRampTo
        self.planned = planned
        self.sent = sent
        self.dropped = dropped
        self.achievedRate = achievedRate
    }
}

/// A virtual-user run: "N concurrent users" and whether the generator kept every user's pace.
public struct UserStats: Sendable, Codable, Hashable {
    /// Users the plan asked for.
    public var planned: Int
    /// Users that sent at least one request.
    public var started: Int
    /// Users that got at least one answer: the "concurrent users" the run reached (metric `users`).
    public var served: Int
    /// Seconds each user waits after an answer before its next request.
    public var thinkTime: Double
    /// Seconds over which the users started (0: all at once).
    public var rampUp: Double
    /// Requests per second the plan implies: every user sending again `thinkTime` after each answer,
    /// with the service time measured in this run, from its start to the end of the duration.
    public var plannedRate: Double
    /// Requests sent per second of the duration.
    public var achievedRate: Double
    /// How late the generator sent a user's next request past its planned time (seconds): mean and worst.
    public var meanLateness: Double
    public var maxLateness: Double

    public init(planned: Int, started: Int, served: Int, thinkTime: Double, rampUp: Double, plannedRate: Double, achievedRate: Double,
                meanLateness: Double, maxLateness: Double) {
        self.planned = planned
        self.started = started
        self.served = served
        self.thinkTime = thinkTime
        self.rampUp = rampUp
        self.plannedRate = plannedRate
        self.achievedRate = achievedRate
        self.meanLateness = meanLateness
        self.maxLateness = maxLateness
    }
}

/// One second of the run.
public struct SecondStats: Sendable, Codable, Hashable {
    public var second: Int
    public var sent: Int
    public var completed: Int
    public var errors: Int
    public var dropped: Int
    /// Highest latency finished in this second, in seconds (0 when none).
    public var maxLatency: Double

    public init(second: Int, sent: Int, completed: Int, errors: Int, dropped: Int, maxLatency: Double) {
        self.second = second
        self.sent = sent
        self.completed = completed
        self.errors = errors
        self.dropped = dropped
        self.maxLatency = maxLatency
    }
}

/// An HdrHistogram's recorded values (3 significant digits) as `[microseconds, count]` pairs in
/// ascending order, zero buckets left out; the value is the bucket's highest equivalent value.
public struct LatencyHistogram: Sendable, Codable, Hashable {
    public var unit: String
    public var significantDigits: Int
    public var buckets: [[UInt64]]

    public init(unit: String = "us", significantDigits: Int = 3, buckets: [[UInt64]]) {
        self.unit = unit
        self.significantDigits = significantDigits
        self.buckets = buckets
    }

    public var count: UInt64 { buckets.reduce(0) { $0 + $1[1] } }

    /// The value at `percentile` (0–100) in seconds, as HdrHistogram computes it: the smallest
    /// bucket value with at least that share of the counts at or below it.
    public func value(atPercentile percentile: Double) -> Double {
        let total = count
        guard total > 0 else { return 0 }
        let wanted = max(1, UInt64((min(percentile, 100) / 100 * Double(total)).rounded(.up)))
        var seen: UInt64 = 0
        for bucket in buckets {
            seen += bucket[1]
            if seen >= wanted { return Double(bucket[0]) / 1e6 }
        }
        return Double(buckets.last?[0] ?? 0) / 1e6
    }
}
