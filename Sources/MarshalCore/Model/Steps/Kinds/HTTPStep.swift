import Foundation

/// `http:` and `health:` requests with expectations, optionally retried `within` a time.
public struct HTTPStep: StepKindPlugin {
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

    public static let declaration = StepDeclarations.httpKind("http", summary: "Send an HTTP request and check the response.", example: """
        - http: { url: "{{ vars.base_url }}/api/cache/flush", method: POST, expect: 204 }
        """)

    public static func decode(shorthand value: any DecodingNode) -> HTTPStep? {
        value.template("'http'").map { HTTPStep(url: $0) }
    }

    public static func decode(_ map: any DecodingMap) -> HTTPStep? {
        decodeRequest(map, declaration: declaration.object)
    }

    /// The keys `http` and `health` share.
    static func decodeRequest(_ map: any DecodingMap, declaration: ObjectShape) -> HTTPStep? {
        let url = map.template("url", required: true)
        var step = HTTPStep(url: url ?? TemplateString("", at: map.location))
        if let methodNode = map.node("method"), let method = methodNode.string("'method'") {
            let upper = method.uppercased()
            if ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(upper) {
                step.method = upper
            } else {
                map.error("'method' '\(method)' is not an HTTP method; expected GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS", at: methodNode.location)
            }
        }
        if let headers = map.node("headers"), let headerMap = headers.mapping("'headers'") {
            headerMap.accept(headerMap.entries.map(\.key))
            step.headers = headerMap.entries.compactMap { pair in
                pair.value.template("header '\(pair.key)'").map { (name: pair.key, value: $0) }
            }
        }
        if let body = map.template("body") { step.body = .text(body) }
        if let json = map.node("json") {
            if step.body != nil, let loc = map.keyLocation("json") { map.error("give 'body' or 'json', not both", at: loc) }
            step.body = .json(json.configValue())
        }
        if let expect = map.node("expect") { step.expect = decodeExpectation(expect, declaration: declaration.nested("expect")) }
        step.within = map.node("within")?.takeTemplate(as: .within) == true ? nil : map.duration("within")
        if let interval = map.duration("interval") { step.interval = interval }
        if let timeout = map.duration("request_timeout") { step.timeout = timeout }
        step.insecure = map.bool("insecure") ?? false
        return url == nil ? nil : step
    }

    private static func decodeExpectation(_ node: any DecodingNode, declaration: ObjectShape?) -> HTTPExpectation {
        var expectation = HTTPExpectation()
        if let text = node.scalarText {
            if let status = Int(text) {
                expectation.statuses = [status]
            } else {
                expectation.condition = node.expression("'expect'")
            }
            return expectation
        }
        guard let map = node.mapping("'expect'", declaration: declaration) else { return expectation }
        if let status = map.node("status") {
            let statuses = status.listOrSingle().compactMap { $0.int("'status'", min: 100) }
            if !statuses.isEmpty { expectation.statuses = statuses }
        }
        if let json = map.node("json"), let jsonMap = json.mapping("'json'") {
            jsonMap.accept(jsonMap.entries.map(\.key))
            for pair in jsonMap.entries {
                if !pair.key.hasPrefix("$") {
                    map.error("JSON path '\(pair.key)' must start with $, such as $.status", at: pair.keyLocation)
                    continue
                }
                expectation.json.append((path: pair.key, value: pair.value.configValue(), location: pair.keyLocation))
            }
        }
        expectation.bodyContains = map.string("body_contains")
        expectation.condition = map.expression("that")
        map.finish()
        return expectation
    }

    public var defaultName: String { "\(method) \(DefaultStepName.short(url.source))" }

    public var isCheck: Bool { true }
    public var templates: [TemplateString] {
        var out = [url] + headers.map(\.value)
        // String values expected at JSON paths may use templates ("$.release": "{{ params.release }}").
        out += expect.json.compactMap { if case .string(let text) = $0.value { TemplateString(text, at: $0.location) } else { nil } }
        if case .text(let body) = body { out.append(body) }
        return out
    }

    public var expressions: [Expression] { expect.condition.map { [$0] } ?? [] }
    public var isReadOnly: Bool { method == "GET" || method == "HEAD" }
    public var runsFromController: Bool { true }
    /// From this machine, but once for each target host, with that host's variables.
    public var runsForEachHost: Bool { true }
    public var plannedDuration: Duration? { within }

    public func withDuration(_ duration: Duration, for key: TemplatedField.Key) -> HTTPStep? {
        guard key == .within else { return nil }
        return setting(\.within, to: duration)
    }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        var parts = ["\(method) \(plan.render(url).plainDisplay)", "expect status \(expect.statuses.map(String.init).joined(separator: "|"))"]
        for entry in expect.json {
            if case .string(let text) = entry.value {
                parts.append("\(entry.path) == \(plan.render(TemplateString(text, at: entry.location)).plainDisplay)")
            } else {
                parts.append("\(entry.path) == \(entry.value.text)")
            }
        }
        if let c = expect.condition { parts.append(c.source) }
        if let within { parts.append("within \(DurationText.format(within))") }
        return parts.joined(separator: ", ")
    }

    /// The request line as the journal records it (`HTTPCheck`): method and URL, credentials and
    /// query values masked. Sent from a host (`on:`), the host's curl command is recorded instead.
    public func commands(_ step: Step, in plan: inout PlanDescription) -> [String]? {
        guard step.on == nil else { return nil }
        return [plan.mask("\(method) \(URLMask.display(plan.render(url).plainDisplay))")]
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        // With `on:`, the request is sent from that host with its curl; otherwise from here.
        if step.on != nil, target.host != nil {
            let (_, executor) = try await target.remote(for: step)
            return try await HTTPCheck(http: RemoteCurlClient(executor: executor)).run(self, kind: HTTPCheck.kind(of: step), context: context)
        }
        return try await HTTPCheck(http: target.httpGates(for: step).http).run(self, kind: HTTPCheck.kind(of: step), context: context)
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

extension StepKind {
    public static func http(_ settings: HTTPStep) -> StepKind { StepKind(settings) }
}
