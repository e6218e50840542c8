import Foundation

/// `sql: { on: db, query: …, database: …, args: { name: "{{ params.x }}" }, expect: "value >= 5" }`
/// run through psql on the host. `args` are bound values: the query names them `:'name'`.
public struct SQLStep: Sendable, Hashable {
    /// A value for the query, bound as psql variable `name` (used as `:'name'` or `:"name"`).
    public struct Argument: Sendable, Hashable {
        public var name: String
        public var value: TemplateString
        public init(name: String, value: TemplateString) {
            self.name = name
            self.value = value
        }
    }

    /// How the query's time is measured: always the client's round trip (`duration`); with
    /// `.explain` also the server's own planning and execution time from
    /// `EXPLAIN (ANALYZE, FORMAT JSON)` (`execution_time`, `planning_time`).
    public enum Timing: String, Sendable, Hashable, CaseIterable { case client, explain }

    public var query: TemplateString
    public var database: TemplateString
    public var args: [Argument]
    public var expect: Expression?
    public var onNoData: NoDataPolicy
    public var timing: Timing
    public init(query: TemplateString, database: TemplateString, args: [Argument] = [], expect: Expression?, onNoData: NoDataPolicy = .fail,
                timing: Timing = .client) {
        self.query = query
        self.database = database
        self.args = args
        self.expect = expect
        self.onNoData = onNoData
        self.timing = timing
    }

    /// A query that starts with SELECT/WITH/SHOW/EXPLAIN and has a single statement only reads.
    public var isReadOnly: Bool {
        let text = query.source.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let body = text.hasSuffix(";") ? String(text.dropLast()) : text
        guard !body.contains(";") else { return false }
        return ["select", "with", "show", "explain", "table", "values"].contains { body.hasPrefix($0) }
            && !["insert ", "update ", "delete ", "drop ", "alter ", "create ", "truncate "].contains { body.contains($0) }
    }
}

/// `http:` and `health:` requests with expectations, optionally retried `within` a time.
public struct HTTPStep: Sendable, Hashable {
    public var method: String
    public var url: TemplateString
    public var headers: [(name: String, value: TemplateString)]
    public var body: HTTPBody?
    public var expect: HTTPExpectation
    public var within: Duration?
    public var interval: Duration
    public var timeout: Duration
    public var insecure: Bool

    public init(
        method: String = "GET", url: TemplateString, headers: [(name: String, value: TemplateString)] = [],
        body: HTTPBody? = nil, expect: HTTPExpectation = HTTPExpectation(), within: Duration? = nil,
        interval: Duration = .seconds(1), timeout: Duration = .seconds(10), insecure: Bool = false
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.expect = expect
        self.within = within
        self.interval = interval
        self.timeout = timeout
        self.insecure = insecure
    }

    public static func == (a: HTTPStep, b: HTTPStep) -> Bool {
        a.method == b.method && a.url == b.url && a.headers.map(\.name) == b.headers.map(\.name)
            && a.headers.map(\.value) == b.headers.map(\.value) && a.body == b.body && a.expect == b.expect
            && a.within == b.within && a.interval == b.interval && a.timeout == b.timeout && a.insecure == b.insecure
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(method)
        hasher.combine(url)
        hasher.combine(expect)
    }
}

public enum HTTPBody: Sendable, Hashable {
    case text(TemplateString)
    case json(ConfigValue)
}

/// What an HTTP response must show: statuses, JSON paths, a free expression, body text.
public struct HTTPExpectation: Sendable, Hashable {
    public var statuses: [Int]
    /// `$.path` → expected value (string/number/bool), compared with `==`.
    public var json: [(path: String, value: ConfigValue, location: SourceLocation)]
    public var bodyContains: String?
    /// A full expression over `status`, `headers.*`, `body`, `$…`, `duration`.
    public var condition: Expression?

    public init(statuses: [Int] = [200], json: [(path: String, value: ConfigValue, location: SourceLocation)] = [],
                bodyContains: String? = nil, condition: Expression? = nil) {
        self.statuses = statuses
        self.json = json
        self.bodyContains = bodyContains
        self.condition = condition
    }

    public static func == (a: HTTPExpectation, b: HTTPExpectation) -> Bool {
        a.statuses == b.statuses && a.json.map(\.path) == b.json.map(\.path) && a.json.map(\.value) == b.json.map(\.value)
            && a.bodyContains == b.bodyContains && a.condition == b.condition
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(statuses)
        hasher.combine(bodyContains)
    }
}

/// A Prometheus instant query held to an expectation.
public struct MetricStep: Sendable, Hashable {
    public var prometheus: TemplateString
    public var query: TemplateString
    public var expect: Expression?
    public var onNoData: NoDataPolicy
    public init(prometheus: TemplateString, query: TemplateString, expect: Expression?, onNoData: NoDataPolicy = .fail) {
        self.prometheus = prometheus
        self.query = query
        self.expect = expect
        self.onNoData = onNoData
    }
}

/// The built-in load generator: phases or a closed loop, weighted scenarios, thresholds.
public struct BenchmarkStep: Sendable, Hashable {
    /// A phase as the load generator runs it: the runbook's phases go to it unchanged.
    public typealias Phase = LoadPlan.Phase

    public struct Scenario: Sendable, Hashable {
        public var name: String
        public var method: String
        public var path: TemplateString
        public var headers: [String: TemplateString]
        public var json: ConfigValue?
        public var weight: Int
        public var expectStatus: [Int]
        public init(name: String, method: String, path: TemplateString, headers: [String: TemplateString] = [:],
                    json: ConfigValue? = nil, weight: Int = 1, expectStatus: [Int] = []) {
            self.name = name
            self.method = method
            self.path = path
            self.headers = headers
            self.json = json
            self.weight = weight
            self.expectStatus = expectStatus
        }
    }

    public struct Threshold: Sendable, Hashable {
        /// `p95`, `error_rate`, or `scenario.p95`.
        public var metric: String
        public var condition: Expression
        public var abortOnFail: Bool
        public init(metric: String, condition: Expression, abortOnFail: Bool = false) {
            self.metric = metric
            self.condition = condition
            self.abortOnFail = abortOnFail
        }
    }

    /// Where the load goes: `base_url` as rendered once for the batch, or (`targets: batch`) each
    /// of the batch's own hosts, `base_url` rendered in that host's scope (`{{ host.vars.base_url }}`).
    public enum Targets: String, Sendable, Hashable, CaseIterable { case url, batch }
    /// `compare: stable`: the same load, at the same time, against as many hosts not yet updated
    /// (later batches' hosts), so `canary.p95 < stable.p95 * 1.1` compares like with like.
    public enum Comparison: String, Sendable, Hashable, CaseIterable { case stable }

    /// The figure names of the two sides when comparing.
    public static let sides = ["canary", "stable"]

    public var baseURL: TemplateString
    public var targets: Targets = .url
    public var compare: Comparison? = nil
    public var phases: [Phase]
    /// Closed loop (wrk-like) when set: this many connections back to back for `duration`.
    public var connections: Int?
    public var duration: Duration?
    public var threads: Int
    public var maxInFlight: Int?
    public var scenarios: [Scenario]
    public var thresholds: [Threshold]
    /// Threshold key (`p95`, `checkout.error_rate`) → what it measures in words (`p95 latency`).
    public var labels: [String: String] = [:]
    public var onNoData: NoDataPolicy

    public init(baseURL: TemplateString, phases: [Phase] = [], connections: Int? = nil, duration: Duration? = nil,
                threads: Int = 2, maxInFlight: Int? = nil, scenarios: [Scenario], thresholds: [Threshold] = [],
                onNoData: NoDataPolicy = .fail) {
        self.baseURL = baseURL
        self.phases = phases
        self.connections = connections
        self.duration = duration
        self.threads = threads
        self.maxInFlight = maxInFlight
        self.scenarios = scenarios
        self.thresholds = thresholds
        self.onNoData = onNoData
    }

    public var plannedDuration: Duration {
        if let duration { return duration }
        return phases.reduce(Duration.zero) { $0 + $1.duration }
    }
}

/// Re-check gates every `interval` for `duration`; the first breach fails the step.
public struct SoakStep: Sendable, Hashable {
    public var duration: Duration
    public var interval: Duration
    public var gates: [Step]
    public init(duration: Duration, interval: Duration, gates: [Step]) {
        self.duration = duration
        self.interval = interval
        self.gates = gates
    }
}
