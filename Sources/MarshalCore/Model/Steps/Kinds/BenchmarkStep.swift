/// The built-in load generator: phases, a closed loop or virtual users, weighted scenarios, thresholds.
public struct BenchmarkStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "benchmark", summary: "The built-in load generator: open-loop phases (requests per second), a closed loop of connections, or virtual users with think time, with thresholds.",
        keys: [
            KeyDeclaration("base_url", .template, required: true, "The URL scenario paths are relative to; with `targets: batch` rendered for each batch host (`{{ host.vars.base_url }}`)."),
            KeyDeclaration("targets", .choice(Targets.allCases.map(\.rawValue)), default: "url",
                           "url: load `base_url` once per batch; batch: load each host of the batch itself (one load test per host, at the same time), so a canary is measured, not the front door."),
            KeyDeclaration("compare", .choice(Comparison.allCases.map(\.rawValue)),
                           "stable (with `targets: batch`): the same load at the same time against as many hosts not yet updated; thresholds use `canary.METRIC` and `stable.METRIC`."),
            KeyDeclaration("phases", .list(.object(ObjectShape("phase", keys: [
                KeyDeclaration("name", .string, "Shown in progress and the report."),
                KeyDeclaration("duration", .duration, required: true, "How long the phase lasts."),
                KeyDeclaration("rate", .number, required: true, "Requests per second (0 to 1000000)."),
                KeyDeclaration("ramp_to", .number, "Rise linearly from `rate` to this by the end of the phase."),
            ]))), "Open loop: the arrival rate over time (give this or `connections`)."),
            KeyDeclaration("connections", .integer(minimum: 1), "Closed loop: this many connections back to back (with `duration`)."),
            KeyDeclaration("duration", .durationOrTemplate, "Length of a closed-loop or virtual-user test (may be a template)."),
            KeyDeclaration("users", .integer(minimum: 1), "Virtual users (with `duration`): each sends a request, waits for the answer, thinks `think_time`, and sends the next on its own connection (k6's constant VUs)."),
            KeyDeclaration("think_time", .duration, default: "1s", "Virtual users: pause between an answer and the user's next request."),
            KeyDeclaration("ramp_up", .duration, default: "0s", "Virtual users: start them evenly over this time (shorter than `duration`)."),
            KeyDeclaration("threads", .integer(minimum: 1), default: "2", "Load generator threads."),
            KeyDeclaration("max_in_flight", .integer(minimum: 1), "Cap on requests outstanding at once (open loop); the rest count as dropped."),
            KeyDeclaration("scenarios", .list(.object(ObjectShape("scenario", keys: [
                KeyDeclaration("get", .template, "Path to GET."), KeyDeclaration("post", .template, "Path to POST."),
                KeyDeclaration("put", .template, "Path to PUT."), KeyDeclaration("patch", .template, "Path to PATCH."),
                KeyDeclaration("delete", .template, "Path to DELETE."), KeyDeclaration("head", .template, "Path to HEAD."),
                KeyDeclaration("name", .string, default: "METHOD PATH", "Name in thresholds (`NAME.p95`) and the report."),
                KeyDeclaration("headers", .dictionary(.template), "Request headers."),
                KeyDeclaration("json", .any, "JSON request body."),
                KeyDeclaration("weight", .integer(minimum: 1), default: "1", "Share of requests."),
                KeyDeclaration("expect_status", .listOrOne(.integer(minimum: 100)), default: "2xx", "Statuses that count as success."),
            ], exactlyOneOf: ["get", "post", "put", "patch", "delete", "head"]))), required: true, "Weighted requests, one method key each."),
            KeyDeclaration("thresholds", .keyed(pattern: "^([^.]+\\.)?(\(StepDeclarations.thresholdMetrics.joined(separator: "|")))$", value: .listOrOne(.string)),
                           "METRIC, SCENARIO.METRIC, or with `compare: stable` canary.METRIC / stable.METRIC → condition such as \"< 500ms\" or \"< stable.p95 * 1.1\"; conditions may use `baseline.STEP.METRIC`; metrics: \(StepDeclarations.thresholdMetrics.joined(separator: ", "))."),
            KeyDeclaration("labels", .dictionary(.string), "Threshold key (as in `thresholds`) → what it measures in words (`p95: p95 latency`), for the report's Targets, JUnit and `marshal show`."),
            KeyDeclaration("abort_on_fail", .boolean, default: "false", "Stop the load test as soon as a threshold fails."),
            StepDeclarations.noData,
        ], atLeastOneOf: ["phases", "connections", "users"],
        runs: "From this machine, once per batch (with `targets: batch`, against each host of the batch, and with `compare: stable` also against hosts not yet updated).",
        evidence: "With `compare: stable`, `canary.METRIC` and `stable.METRIC` (the slowest host of each side) besides the canary's own figures. Every threshold metric (`p50`…`p99`, `max`, `min`, `avg`, `rps`, `error_rate`, `requests`, `errors`, `dropped`, and `users` in a virtual-user test); the full result (per scenario, per phase, per second) is a measurement the report draws from.",
        undo: .changesNothing,
        example: """
        - name: Latency gate
          benchmark:
            base_url: "{{ vars.base_url }}"
            phases: [ { name: warm-up, duration: 5s, rate: 10 }, { duration: 10s, rate: 10, ramp_to: 50 } ]
            scenarios:
              - { get: /api/items, weight: 3 }
              - { post: /api/items, json: { name: probe }, expect_status: [200, 201] }
            thresholds: { p95: "< 500ms", error_rate: "< 1%" }
        """)

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
    public var phases: [Phase] = []
    /// Closed loop (wrk-like) when set: this many connections back to back for `duration`.
    public var connections: Int?
    public var duration: Duration?
    /// Virtual users when set: this many users, each thinking `thinkTime` between an answer and
    /// its next request, for `duration`, started evenly over `rampUp`.
    public var users: Int?
    public var thinkTime: Duration = .seconds(1)
    public var rampUp: Duration = .zero
    public var threads: Int = 2
    public var maxInFlight: Int?
    public var scenarios: [Scenario]
    public var thresholds: [Threshold] = []
    /// Threshold key (`p95`, `checkout.error_rate`) → what it measures in words (`p95 latency`).
    public var labels: [String: String] = [:]
    public var onNoData: NoDataPolicy = .fail

    public var plannedDuration: Duration {
        if let duration { return duration }
        return phases.reduce(Duration.zero) { $0 + $1.duration }
    }

    static let thresholdMetrics = StepDeclarations.thresholdMetrics

    public static func decode(_ map: any DecodingMap) -> BenchmarkStep? {
        let baseURL = map.template("base_url", required: true, expected: "the URL the scenario paths are relative to")
        var phases: [Phase] = []
        if let list = map.node("phases"), let items = list.sequence("'phases'") {
            for (i, item) in items.enumerated() {
                guard let phase = item.mapping("phase \(i + 1)", declaration: declaration.object.nested("phases")) else { continue }
                let name = phase.string("name")
                let duration = phase.duration("duration", required: true)
                let rate = phase.node("rate", required: true, expected: "requests per second").flatMap { $0.number("'rate'") }
                let rampTo = phase.node("ramp_to").flatMap { $0.number("'ramp_to'") }
                phase.finish()
                if let rate, rate < 0 || rate > LoadPlan.maxRate { map.error("'rate' must be between 0 and \(Int(LoadPlan.maxRate)) requests per second", at: phase.location) }
                if let duration, let rate {
                    phases.append(Phase(name: name, duration: duration, rate: rate, rampTo: rampTo))
                }
            }
        }
        let connections = map.int("connections", min: 1)
        // A templated duration: a placeholder until the run renders it (any non-nil value will do).
        let duration = map.node("duration")?.takeTemplate(as: .duration) == true ? Duration.seconds(1) : map.duration("duration")
        let users = map.int("users", min: 1)
        let thinkTime = map.duration("think_time")
        let rampUp = map.duration("ramp_up")
        let threads = map.int("threads", min: 1) ?? 2
        let maxInFlight = map.int("max_in_flight", min: 1)
        if phases.isEmpty, connections == nil, users == nil {
            map.error("a benchmark needs 'phases' (open loop, requests per second), 'connections' with 'duration' (closed loop) or 'users' with 'duration' (virtual users)", at: map.location)
        }
        if users != nil, !phases.isEmpty || connections != nil {
            map.error("'users' (virtual users) cannot be combined with \(phases.isEmpty ? "'connections'" : "'phases'"): each user holds its own connection and paces itself by 'think_time'", at: map.location)
        }
        if users != nil, duration == nil {
            map.error("a virtual-user benchmark ('users') needs a 'duration'", at: map.location)
        }
        if users == nil, thinkTime != nil || rampUp != nil {
            map.error("'think_time' and 'ramp_up' belong to virtual users: add 'users: N'", at: map.location)
        }
        if let rampUp, let duration, users != nil, rampUp >= duration {
            map.error("'ramp_up' (\(DurationText.format(rampUp))) must be shorter than 'duration' (\(DurationText.format(duration)))", at: map.location)
        }
        if connections != nil, duration == nil, phases.isEmpty {
            map.error("a closed-loop benchmark ('connections') needs a 'duration'", at: map.location)
        }
        var scenarios: [Scenario] = []
        if let list = map.node("scenarios", required: true, expected: "a list such as [{ get: /api/health, weight: 1 }]"),
           let items = list.sequence("'scenarios'") {
            for (i, item) in items.enumerated() {
                if let scenario = decodeScenario(item, index: i, declaration: declaration.object.nested("scenarios")) { scenarios.append(scenario) }
            }
        }
        let targets = map.choice("targets", as: Targets.self) ?? .url
        let compare = map.choice("compare", as: Comparison.self)
        if compare != nil, targets != .batch {
            map.error("'compare: stable' compares the batch's own hosts with hosts not yet updated, so it needs 'targets: batch'", at: map.at("compare"))
        }
        let thresholds = decodeThresholds(map, scenarios: scenarios, sides: compare == nil ? [] : sides)
        var labels: [String: String] = [:]
        if let node = map.node("labels"), let lmap = node.mapping("'labels'") {
            lmap.accept(lmap.entries.map(\.key))
            let keys = Set(thresholds.map(\.metric))
            for pair in lmap.entries {
                guard keys.contains(pair.key) else {
                    let known = keys.isEmpty ? "it has none" : "it has: \(keys.sorted().joined(separator: ", "))"
                    map.error("label for '\(pair.key)': the step has no threshold '\(pair.key)'\(Suggestion.hint(for: pair.key, in: keys.sorted())); \(known)", at: pair.keyLocation)
                    continue
                }
                if let text = pair.value.string("label of threshold '\(pair.key)'") { labels[pair.key] = text }
            }
        }
        let noData = map.choice("on_no_data", as: NoDataPolicy.self) ?? .fail
        guard let baseURL else { return nil }
        var step = BenchmarkStep(baseURL: baseURL, phases: phases, connections: connections, duration: duration, threads: threads,
                                 maxInFlight: maxInFlight, scenarios: scenarios, thresholds: thresholds, onNoData: noData)
        step.labels = labels
        step.targets = targets
        step.compare = compare
        step.users = users
        if let thinkTime { step.thinkTime = thinkTime }
        if let rampUp { step.rampUp = rampUp }
        return step
    }

    private static func decodeThresholds(_ map: any DecodingMap, scenarios: [Scenario], sides: [String]) -> [Threshold] {
        var thresholds: [Threshold] = []
        let abort = map.bool("abort_on_fail") ?? false
        guard let node = map.node("thresholds"), let tmap = node.mapping("'thresholds'") else { return thresholds }
        tmap.accept(tmap.entries.map(\.key))
        let scenarioNames = scenarios.map(\.name)
        for pair in tmap.entries {
            let parts = pair.key.split(separator: ".", maxSplits: 1).map(String.init)
            let metric = parts.last ?? pair.key
            if !thresholdMetrics.contains(metric) {
                map.error("unknown threshold metric '\(metric)'\(Suggestion.hint(for: metric, in: thresholdMetrics)); expected one of: \(thresholdMetrics.joined(separator: ", "))", at: pair.keyLocation)
                continue
            }
            if parts.count == 2, !scenarioNames.contains(parts[0]), !sides.contains(parts[0]) {
                let hint = Self.sides.contains(parts[0]) ? " ('\(parts[0]).' figures need 'targets: batch' and 'compare: stable')" : ""
                map.error("threshold '\(pair.key)' names scenario '\(parts[0])', which is not one of: \(scenarioNames.joined(separator: ", "))\(hint)", at: pair.keyLocation)
                continue
            }
            for conditionNode in pair.value.listOrSingle() {
                if let condition = conditionNode.condition(subject: pair.key, "threshold '\(pair.key)'") {
                    // A name on either side must be a metric the test produces, or it can never have a value.
                    if let text = conditionNode.scalarText,
                       let unknown = Expression.unknownName(in: text, at: conditionNode.contentStart, isKnown: { name in
                           thresholdMetrics.contains(name)
                               || (scenarioNames + sides).contains { name.hasPrefix($0 + ".") && thresholdMetrics.contains(String(name.dropFirst($0.count + 1))) }
                               // The baseline run's figures and the run's own names (checked by the runbook pass).
                               || name.hasPrefix(Baseline.root + ".")
                               || TemplateScope.roots.contains { $0 != "secrets" && name.hasPrefix($0 + ".") }
                       }) {
                        map.error("threshold '\(pair.key)': '\(unknown.name)' names nothing that has a value; compare with a number such as 500ms or 1%, or a metric: \(thresholdMetrics.joined(separator: ", "))", at: unknown.location)
                        continue
                    }
                    thresholds.append(Threshold(metric: pair.key, condition: condition, abortOnFail: abort))
                }
            }
        }
        return thresholds
    }

    private static let methods = ["get", "post", "put", "patch", "delete", "head"]

    private static func decodeScenario(_ node: any DecodingNode, index: Int, declaration: ObjectShape?) -> Scenario? {
        guard let map = node.mapping("scenario \(index + 1)", declaration: declaration) else { return nil }
        let methodKeys = map.entries.filter { methods.contains($0.key) }
        map.accept(methods)
        guard let methodPair = methodKeys.first else {
            map.error("scenario \(index + 1) needs a method key with the path, such as 'get: /api/health' or 'post: /api/message'", at: node.location)
            map.accept(["name", "headers", "json", "weight", "expect_status"])
            map.finish()
            return nil
        }
        if methodKeys.count > 1 {
            map.error("scenario \(index + 1) has more than one method ('\(methodKeys[0].key)' and '\(methodKeys[1].key)')", at: methodKeys[1].keyLocation)
        }
        guard let path = methodPair.value.template("'\(methodPair.key)'") else { map.finish(); return nil }
        let name = map.string("name") ?? "\(methodPair.key.uppercased()) \(path.source)"
        var headers: [String: TemplateString] = [:]
        if let node = map.node("headers"), let hmap = node.mapping("'headers'") {
            hmap.accept(hmap.entries.map(\.key))
            for pair in hmap.entries { headers[pair.key] = pair.value.template("header '\(pair.key)'") }
        }
        let json = map.node("json").map { $0.configValue() }
        let weight = map.int("weight", min: 1) ?? 1
        var expectStatus: [Int] = []
        if let node = map.node("expect_status") {
            expectStatus = node.listOrSingle().compactMap { $0.int("'expect_status'", min: 100) }
        }
        map.finish()
        return Scenario(name: name, method: methodPair.key.uppercased(), path: path, headers: headers,
                        json: json, weight: weight, expectStatus: expectStatus)
    }

    public var isCheck: Bool { true }
    public var templates: [TemplateString] { [baseURL] + scenarios.flatMap { [$0.path] + $0.headers.values } }
    public var expressions: [Expression] { thresholds.map(\.condition) }
    public var isReadOnly: Bool { true }
    public var runsFromController: Bool { true }
    public var canBeApproved: Bool { onNoData == .pause }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        let load: String
        if let users {
            load = "\(users) virtual users for \(DurationText.format(duration ?? .zero)), think time \(DurationText.format(thinkTime))"
                + (rampUp > .zero ? ", ramp-up \(DurationText.format(rampUp))" : "")
        } else if let connections {
            load = "closed loop: \(connections) connections for \(DurationText.format(duration ?? .zero))"
        } else {
            load = "open loop: " + phases.map { p in
                let rate = p.rampTo.map { "\(PlanDescription.number(p.rate))→\(PlanDescription.number($0))/s" } ?? "\(PlanDescription.number(p.rate))/s"
                return "\(p.name.map { "\($0) " } ?? "")\(DurationText.format(p.duration)) at \(rate)"
            }.joined(separator: ", ")
        }
        let shown = scenarios.map { "\($0.method) \(plan.render($0.path).plainDisplay) (weight \($0.weight))" }.joined(separator: ", ")
        let conditions = thresholds.map(\.condition.source).joined(separator: ", ")
        let against = compare == .stable ? " at the same time as the same load on as many hosts not yet updated (stable)" : ""
        return "load \(plan.render(baseURL).plainDisplay)\(against): \(load); scenarios: \(shown)" + (conditions.isEmpty ? "" : "; thresholds: \(conditions)")
    }

    public func withDuration(_ duration: Duration, for key: TemplatedField.Key) -> BenchmarkStep? {
        guard key == .duration else { return nil }
        return setting(\.duration, to: duration)
    }

    public func validate(_ step: Step, report: (String, SourceLocation) -> Void) {
        // Once per batch from this machine there is no host to name, unless the test loads each host.
        guard step.on == nil, targets != .batch else { return }
        for template in templates {
            for placeholder in TemplateSyntax(template).placeholders where placeholder.path.first == "host" {
                report("'\(placeholder.path.joined(separator: "."))': a benchmark runs once per batch from this machine, so there is no host here; to load each host of the batch, add 'targets: batch' (and 'compare: stable' to load hosts not yet updated at the same time)", placeholder.location)
            }
        }
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        try await BenchmarkGate(load: target.httpGates(for: step).load).run(self, context: context)
    }
}

extension StepKind {
    public static func benchmark(_ settings: BenchmarkStep) -> StepKind { StepKind(settings) }
}
