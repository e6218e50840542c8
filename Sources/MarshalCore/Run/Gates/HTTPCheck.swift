import Foundation

/// `http` and `health`: one request, or retries with backoff `within` a time until the response
/// meets its expectation; every attempt is recorded as a measurement.
struct HTTPCheck {
    var http: any HTTPClient

    /// A `health` step's attempts are `health` measurements, an `http` step's `http`.
    static func kind(of step: Step) -> MeasurementKind {
        step.kind.is(HealthStep.self) ? .health : .http
    }

    func run(_ step: HTTPStep, kind: MeasurementKind, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let url = try context.render(step.url)
        var headers: [(name: String, value: String)] = []
        for header in step.headers { headers.append((header.name, try context.render(header.value).plainValue)) }
        var body: [UInt8] = []
        switch step.body {
        case .text(let template)?: body = Array(try context.render(template).plainValue.utf8)
        case .json(let value)?:
            body = Array(try JSONBody.render(value, context: context).jsonText.utf8)
            if !headers.contains(where: { $0.name.lowercased() == "content-type" }) { headers.append(("Content-Type", "application/json")) }
        case nil: break
        }
        var expected: [(path: String, value: ConfigValue, location: SourceLocation)] = []
        for entry in step.expect.json {
            if case .string(let text) = entry.value, text.contains("{{") {
                expected.append((entry.path, .string(try context.render(TemplateString(text, at: entry.location)).plainValue), entry.location))
            } else {
                expected.append(entry)
            }
        }
        let request = HTTPRequest(method: step.method, url: url.plainValue, headers: headers, body: body, timeout: step.timeout,
                                  connectTimeout: min(step.timeout, .seconds(5)), insecure: step.insecure)
        let display = context.masker.mask("\(step.method) \(URLMask.display(url.plainDisplay))")
        let clock = context.clock
        let started = clock.now
        let deadline = step.within.map { started + $0 }
        var attempt = 0
        var delay = step.interval
        var measurements: [StepOutcome.Measurement] = []
        var last: (status: StepOutcome.Status, message: String, evidence: ConfigValue?) = (.failed, "no attempt", nil)
        while true {
            attempt += 1
            var attemptRequest = request
            if let deadline {
                // `within` is the gate's whole budget: an attempt may outlast the deadline by a
                // second at most, so a server that hangs cannot hold the decision back.
                let budget = max(deadline - clock.now + .seconds(1), .milliseconds(500))
                attemptRequest.timeout = min(request.timeout, budget)
                attemptRequest.connectTimeout = min(request.connectTimeout, attemptRequest.timeout)
            }
            let verdict = await check(attemptRequest, expect: step.expect, json: expected, context: context)
            let elapsed = clock.elapsed(since: started).seconds
            measurements.append(.init(kind: kind, name: display, outcome: verdict.status == .succeeded ? .passed : (verdict.status == .inconclusive ? .inconclusive : .failed),
                                      expectation: describe(step.expect, expected), value: verdict.latency, unit: "s",
                                      payloadJSON: Evidence.json(HTTPAttemptEvidence(attempt: attempt, at: elapsed, status: verdict.httpStatus,
                                                                                     message: context.masker.mask(verdict.message)))))
            last = (verdict.status, verdict.message, verdict.evidence)
            if verdict.status == .succeeded { break }
            guard let deadline, clock.now < deadline - .milliseconds(50), !Task.isCancelled else { break }
            // Back off (doubling up to 5 s), but make the last attempt at the deadline itself, so a
            // `within: 10s` gate fails at 10 s, not at its last backoff step before.
            let wake = min(clock.now + delay, deadline)
            try? await clock.sleep(until: wake)
            delay = min(delay * 2, .seconds(5))
        }
        var outcome = StepOutcome(status: last.status, message: context.masker.mask(last.message), evidence: last.evidence,
                                  attempts: 1, command: display, measurements: measurements)
        if let within = step.within {
            let took = clock.elapsed(since: started).seconds
            outcome.message = (outcome.message ?? "") + (last.status == .succeeded
                ? " (after \(attempt) attempt\(attempt == 1 ? "" : "s"), \(String(format: "%.1f", took))s)"
                : " (\(attempt) attempts over \(String(format: "%.1f", took))s; within \(DurationText.format(within)) ran out)")
        }
        return outcome
    }

    struct Verdict {
        var status: StepOutcome.Status
        var message: String
        var evidence: ConfigValue?
        var latency: Double?
        var httpStatus: Int?
    }

    func check(_ request: HTTPRequest, expect: HTTPExpectation, json: [(path: String, value: ConfigValue, location: SourceLocation)],
               context: StepContext) async -> Verdict {
        let response: HTTPResponse
        do {
            response = try await http.send(request)
        } catch {
            return Verdict(status: .failed, message: error.description)
        }
        let latency = response.timings.total.seconds
        let document = ExprValue.fromJSON(response.body)
        var evidence: [ConfigEntry] = [
            ConfigEntry(key: "status", value: .number(Double(response.status)), location: .synthetic("http")),
            ConfigEntry(key: "duration", value: .number(latency), location: .synthetic("http")),
            ConfigEntry(key: "body", value: .string(String(response.text.prefix(4096))), location: .synthetic("http")),
        ]
        if let document { evidence.append(ConfigEntry(key: "json", value: ConfigValue(document), location: .synthetic("http"))) }
        var problems: [String] = []
        if !expect.statuses.contains(response.status) {
            problems.append("status \(response.status), expected \(expect.statuses.map(String.init).joined(separator: " or "))")
        }
        for entry in json {
            guard let document else {
                problems.append("\(entry.path): the body is not JSON")
                continue
            }
            let actual = (try? Expression.parse(entry.path, at: entry.location))
                .flatMap { try? $0.evaluate(in: DictionaryScope(document: document)) }
            let want = ExprValue(entry.value)
            if actual != want && !(actual.map { "\($0)" } == "\(want)") {
                problems.append("\(entry.path) is \(actual.map { "\($0)" } ?? "missing"), expected \(want)")
            }
        }
        if let needle = expect.bodyContains, !response.text.contains(needle) {
            problems.append("body does not contain \"\(needle)\"")
        }
        var status: StepOutcome.Status = problems.isEmpty ? .succeeded : .failed
        if let condition = expect.condition {
            var values: [String: ExprValue] = ["status": .number(Double(response.status)), "duration": .number(latency),
                                               "body": .string(response.text)]
            for (name, value) in response.headers {
                values["headers." + name.lowercased().replacingOccurrences(of: "-", with: "_")] = .string(value)
            }
            let verdict = GateCheck.evaluate(condition, in: context.expressionScope(values, document: document), onNoData: .fail, what: "expect")
            if verdict.status != .succeeded {
                problems.append(verdict.message)
                if status == .succeeded { status = verdict.status }
            }
        }
        if problems.isEmpty {
            return Verdict(status: .succeeded, message: "\(response.status) in \(Int(latency * 1000)) ms", evidence: .map(evidence),
                           latency: latency, httpStatus: response.status)
        }
        if let unhealthy = Self.unhealthyServices(document) { problems.append("unhealthy services: \(unhealthy)") }
        return Verdict(status: status, message: problems.joined(separator: "; "), evidence: .map(evidence), latency: latency,
                       httpStatus: response.status)
    }

    /// From a health document with per-service status (`{"services": {"redis": {"status": "down"}}}`
    /// or `{"services": {"redis": "down"}}`), the services that are not healthy, by name.
    static func unhealthyServices(_ document: ExprValue?) -> String? {
        guard case .object(let root)? = document, case .object(let services)? = root["services"] else { return nil }
        let healthy: Set<String> = ["healthy", "ok", "up", "pass", "passing", "green"]
        var bad: [String] = []
        for name in services.keys.sorted() {
            var state: String?
            switch services[name] {
            case .string(let s)?: state = s
            case .object(let o)?:
                if case .string(let s)? = o["status"] { state = s }
                if case .bool(let up)? = o["healthy"] { state = up ? "healthy" : "unhealthy" }
            case .bool(let up)?: state = up ? "healthy" : "unhealthy"
            default: break
            }
            if let state, !healthy.contains(state.lowercased()) { bad.append("\(name) (\(state))") }
        }
        return bad.isEmpty ? nil : bad.joined(separator: ", ")
    }

    func describe(_ expect: HTTPExpectation, _ json: [(path: String, value: ConfigValue, location: SourceLocation)]) -> String {
        var parts = ["status in [\(expect.statuses.map(String.init).joined(separator: ", "))]"]
        parts += json.map { "\($0.path) == \($0.value.text)" }
        if let c = expect.condition { parts.append(c.source) }
        return parts.joined(separator: " and ")
    }
}
