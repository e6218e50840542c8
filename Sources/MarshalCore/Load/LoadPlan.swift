import Foundation

/// What a load test sends, at what pace, for how long.
public struct LoadPlan: Sendable {
    public var baseURL: String
    public var mode: Mode
    /// Worker threads, each driving its own share of the load.
    public var threads: Int
    public var scenarios: [Scenario]
    /// Open loop: requests started but not finished (including those waiting for a connection)
    /// beyond which a due request is dropped and counted.
    public var maxInFlight: Int
    /// Open loop: connections shared by the requests; nil opens as many as in-flight requests need.
    /// With a fixed pool a request may wait for a free connection, and that wait counts in its latency.
    public var connections: Int?
    /// Per request, whole exchange, a connect the request waits for included.
    public var timeout: Duration
    /// A connect alone; nil: the request's `timeout` bounds it, as k6's request timeout does (wrk has
    /// none). A shorter one failed requests at 10,000 connections while a busy server's accept queue
    /// was full (SYNs dropped and resent after 1 s, 3 s, 7 s) though the server answered in time.
    public var connectTimeout: Duration?
    public var insecure: Bool
    /// Stop an open-loop run early once one of these can no longer pass (the planned total is known).
    public var abortRules: [AbortRule]

    public init(
        baseURL: String,
        mode: Mode,
        threads: Int = 2,
        scenarios: [Scenario] = [Scenario(name: "default")],
        maxInFlight: Int = 1000,
        connections: Int? = nil,
        timeout: Duration = .seconds(10),
        connectTimeout: Duration? = nil,
        insecure: Bool = false,
        abortRules: [AbortRule] = []
    ) {
        self.abortRules = abortRules
        self.baseURL = baseURL
        self.mode = mode
        self.threads = threads
        self.scenarios = scenarios
        self.maxInFlight = maxInFlight
        self.connections = connections
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.insecure = insecure
    }

    public enum Mode: Sendable {
        /// Requests start at planned times whatever the server does (like k6 ramping-arrival-rate).
        case openLoop(phases: [Phase])
        /// `connections` each send the next request as soon as the previous answer arrives (like wrk).
        case closedLoop(connections: Int, duration: Duration)
        /// Virtual users (k6's constant VUs): each user sends a request, waits for its answer, thinks
        /// for `thinkTime`, and sends the next, on a keep-alive connection of its own, for `duration`.
        case users(Users)
    }

    /// `count` users, each looping request → answer → `thinkTime` for `duration`. With `rampUp`
    /// the users start evenly spread over that time (Artillery's arrivals); without, all at once.
    public struct Users: Sendable, Hashable {
        public var count: Int
        public var thinkTime: Duration
        public var duration: Duration
        public var rampUp: Duration

        public init(count: Int, thinkTime: Duration, duration: Duration, rampUp: Duration = .zero) {
            self.count = count
            self.thinkTime = thinkTime
            self.duration = duration
            self.rampUp = rampUp
        }
    }

    /// A stretch of an open-loop run: `rate` requests per second, ramped linearly to `rampTo` when set.
    public struct Phase: Sendable, Hashable {
        public var name: String?
        public var duration: Duration
        public var rate: Double
        public var rampTo: Double?

        public init(name: String? = nil, duration: Duration, rate: Double, rampTo: Double? = nil) {
            self.name = name
            self.duration = duration
            self.rate = rate
            self.rampTo = rampTo
        }
    }

    /// One kind of request; scenarios share the load in proportion to their weights.
    public struct Scenario: Sendable {
        public var name: String
        public var method: String
        /// Appended to the base URL.
        public var path: String
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        public var weight: Int
        /// Statuses that count as success; nil means any status below 400.
        public var expectStatus: [Int]?

        public init(
            name: String,
            method: String = "GET",
            path: String = "",
            headers: [(name: String, value: String)] = [],
            body: [UInt8] = [],
            weight: Int = 1,
            expectStatus: [Int]? = nil
        ) {
            self.name = name
            self.method = method
            self.path = path
            self.headers = headers
            self.body = body
            self.weight = weight
            self.expectStatus = expectStatus
        }
    }

    /// Planned length of the sending window.
    public var duration: Duration {
        switch mode {
        case .openLoop(let phases): phases.reduce(.zero) { $0 + $1.duration }
        case .closedLoop(_, let duration): duration
        case .users(let users): users.duration
        }
    }

    /// The highest rate a phase may ask for. The schedule hands out one arrival at a time, and
    /// each one due is either sent or counted as dropped; past this rate the generator spends its
    /// time counting drops instead of sending (a single host's HTTP client tops out far lower), so
    /// a larger rate is refused before anything runs instead of producing a run that never ends.
    public static let maxRate: Double = 1_000_000

    /// Every problem with the plan, so all can be fixed at once.
    public func problems() -> [String] {
        var found: [String] = []
        let lower = baseURL.lowercased()
        if !(lower.hasPrefix("http://") || lower.hasPrefix("https://")) {
            found.append("base URL \(URLMask.display(baseURL)) must start with http:// or https://")
        }
        if threads < 1 { found.append("threads must be at least 1, got \(threads)") }
        if maxInFlight < 1 { found.append("max in-flight must be at least 1, got \(maxInFlight)") }
        if let connections, connections < 1 { found.append("connections must be at least 1, got \(connections)") }
        if timeout <= .zero { found.append("timeout must be positive") }
        if scenarios.isEmpty { found.append("at least one scenario is needed") }
        var names = Set<String>()
        for s in scenarios {
            if s.weight < 1 { found.append("scenario \(s.name): weight must be at least 1, got \(s.weight)") }
            if !names.insert(s.name).inserted { found.append("scenario name \(s.name) is used twice") }
        }
        switch mode {
        case .openLoop(let phases):
            if phases.isEmpty { found.append("an open-loop plan needs at least one phase") }
            for (i, p) in phases.enumerated() {
                if p.duration <= .zero { found.append("phase \(i + 1): duration must be positive") }
                if !(p.rate >= 0) || !p.rate.isFinite { found.append("phase \(i + 1): rate must be a number ≥ 0") }
                if let r = p.rampTo, !(r >= 0) || !r.isFinite { found.append("phase \(i + 1): ramp_to must be a number ≥ 0") }
                if let highest = [p.rate, p.rampTo ?? 0].max(), highest.isFinite, highest > Self.maxRate {
                    found.append("phase \(i + 1): \(highest.formatted(.number.grouping(.never))) requests per second is beyond what the load generator can schedule "
                                 + "(at most \(Int(Self.maxRate)) per second); run several generators for more")
                }
                if p.rate == 0 && (p.rampTo ?? 0) == 0 { found.append("phase \(i + 1): rate and ramp_to are both 0") }
            }
        case .closedLoop(let connections, let duration):
            if connections < 1 { found.append("connections must be at least 1, got \(connections)") }
            if duration <= .zero { found.append("duration must be positive") }
        case .users(let users):
            if users.count < 1 { found.append("users must be at least 1, got \(users.count)") }
            if users.duration <= .zero { found.append("duration must be positive") }
            if users.thinkTime < .zero { found.append("think_time must not be negative") }
            if users.rampUp < .zero { found.append("ramp_up must not be negative") }
            if users.rampUp >= users.duration && users.duration > .zero {
                found.append("ramp_up (\(DurationText.format(users.rampUp))) must be shorter than the duration (\(DurationText.format(users.duration)))")
            }
        }
        return found
    }
}

/// Runs a load plan; the libcurl multi-interface adapter implements it.
public protocol LoadGenerator: Sendable {
    func run(_ plan: LoadPlan) async throws(LoadError) -> LoadResult
    /// The same, calling `progress` with the figures so far about once a second while it runs.
    func run(_ plan: LoadPlan, progress: (@Sendable (LoadProgress) -> Void)?) async throws(LoadError) -> LoadResult
}

/// Why a load test could not run at all (failed requests are results, not errors).
public enum LoadError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidPlan([String])
    case couldNotStart(String)

    public var description: String {
        switch self {
        case .invalidPlan(let problems): "invalid load plan: " + problems.joined(separator: "; ")
        case .couldNotStart(let reason): "load test could not start: \(reason)"
        }
    }
}

/// A threshold that, once broken beyond repair, ends an open-loop run early. Both count against
/// the planned number of requests, so "can no longer pass" is certain, not a guess from a sample.
public enum AbortRule: Sendable, Hashable, CustomStringConvertible {
    /// `error_rate < limit`: fails for sure once errors reach `limit` × planned requests.
    case errorRate(below: Double)
    /// `pNN < limit`: fails for sure once more than (1 − quantile) × planned requests took `limit` or more.
    case latency(quantile: Double, below: Double)

    public var description: String {
        switch self {
        case .errorRate(let limit): "error_rate < \(limit * 100)%"
        case .latency(let q, let limit): "p\(Int((q * 100).rounded())) < \(Int((limit * 1000).rounded()))ms"
        }
    }
}
