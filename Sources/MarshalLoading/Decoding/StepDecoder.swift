import Foundation
import MarshalCore
import Yams

/// Decodes one step: the common keys, then exactly one kind key whose value says what to do.
struct StepDecoder {
    let reader: NodeReader

    static let commonKeys = StepDeclarations.common.keyNames

    func decodeList(_ node: Node, _ what: String) -> [Step] {
        if case .scalar(let s) = node, s.style == .plain, node.tag.rawValue == Tag.Name.null.rawValue { return [] }
        guard let items = reader.sequence(node, what) else { return [] }
        return items.enumerated().compactMap { index, item in decode(item, "step \(index + 1) of \(what)", allowUndo: true) }
    }

    func decode(_ node: Node, _ what: String, allowUndo: Bool) -> Step? {
        guard let map = reader.mapping(node, what) else { return nil }
        let kindKeys = map.pairs.filter { StepKind.names.contains($0.key) }
        guard let kindPair = kindKeys.first else {
            let unknown = map.pairs.first { !Self.commonKeys.contains($0.key) }
            if let unknown {
                let hint = Suggestion.hint(for: unknown.key, in: StepKind.names)
                reader.error("unknown step kind '\(unknown.key)'\(hint); expected one of: \(StepKind.names.joined(separator: ", "))", at: unknown.keyLocation)
            } else {
                reader.error("\(what) says nothing to do; expected one kind key: \(StepKind.names.joined(separator: ", "))", at: node)
            }
            return nil
        }
        for extra in kindKeys.dropFirst() {
            reader.error("a step has exactly one kind, but this one has '\(kindPair.key)' and '\(extra.key)'; split it into two steps", at: extra.keyLocation)
        }
        map.accept(kindKeys.map(\.key))

        var kindOn: TargetSelector?
        // Templated fields recorded while decoding this step's kind (nested steps take their own).
        let mark = reader.templated.count
        let decoded = decodeKind(kindPair.key, kindPair.value, on: &kindOn)
        let templated = Array(reader.templated[mark...])
        reader.templated.removeSubrange(mark...)
        guard let kind = decoded else {
            map.accept(Self.commonKeys)
            return nil
        }
        let id = map.string("id")
        if let id, !Self.isIdentifier(id), let loc = map.keyLocation("id") {
            reader.error("step id '\(id)' must start with a letter and use letters, digits and _ only (it is referenced as steps.\(id))", at: loc)
        }
        let name = map.string("name") ?? id ?? Self.defaultName(kind)
        var step = Step(id: id, name: name, kind: kind, location: reader.location(of: node))
        step.templated = templated
        if let on = map.node("on") {
            step.on = RunbookDecoder(reader: reader, path: reader.file).decodeTargets(on, "'on'")
            if kindOn != nil { reader.error("'on' is given both on the step and inside '\(kindPair.key)'; keep one", at: on) }
        } else {
            step.on = kindOn
        }
        step.when = map.expression("when")
        if let retries = map.int("retries", min: 0) { step.retries = retries }
        if let delay = map.duration("delay") { step.delay = delay }
        step.until = map.expression("until")
        step.timeout = map.duration("timeout")
        step.register = map.string("register")
        if let register = step.register, !Self.isIdentifier(register), let loc = map.keyLocation("register") {
            reader.error("'register' name '\(register)' must start with a letter and use letters, digits and _ only", at: loc)
        }
        step.ignoreFailure = map.bool("ignore_failure") ?? false
        step.label = map.string("label")
        step.idempotent = map.bool("idempotent") ?? false
        step.undoOnFailure = map.bool("undo_on_failure")
        step.everyBatch = map.bool("every_batch") ?? false
        if step.everyBatch, step.on == nil, let at = map.keyLocation("every_batch") {
            reader.error("'every_batch' is for a step with 'on:' (which otherwise runs only in the first batch); without 'on:' a step already runs in every batch", at: at)
        }
        if let undo = map.node("undo") {
            if !allowUndo {
                reader.error("an undo step cannot have its own 'undo'", at: map.keyLocation("undo") ?? step.location)
            } else if !kind.acceptsUndo {
                reader.error("'undo' on a \(kind.name) step: a \(kind.name) step changes nothing, so there is nothing to undo", at: map.keyLocation("undo") ?? step.location)
            } else if let undoStep = decode(undo, "'undo' of step '\(name)'", allowUndo: false) {
                var undoStep = undoStep
                if undoStep.on == nil { undoStep.on = step.on }
                step.undo = UndoBox(undoStep)
            }
        }
        map.finish()
        return step
    }

    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.first, first.isLetter || first == "_" else { return false }
        return text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }

    static func defaultName(_ kind: StepKind) -> String {
        func short(_ text: String) -> String { text.count > 60 ? String(text.prefix(57)) + "…" : text }
        switch kind {
        case .shell(let s): return short(s.command.source.split(separator: "\n").first.map(String.init) ?? kind.name)
        case .wait(let w): return "wait \(DurationText.format(w.duration))"
        case .health(let h): return "health \(short(h.url.source))"
        case .http(let h): return "\(h.method) \(short(h.url.source))"
        case .service(let s): return "\(s.manager.source) \(s.action.rawValue) \(s.name.source)"
        default: return kind.name
        }
    }

    // MARK: - Kinds

    /// `args: { name: value }`: values bound as psql variables; names as psql accepts them.
    private func decodeSQLArguments(_ map: MapReader) -> [SQLStep.Argument] {
        guard let node = map.node("args"), let args = reader.mapping(node, "'args'") else { return [] }
        return args.pairs.compactMap { pair in
            let valid = pair.key.first.map { $0.isASCII && ($0.isLetter || $0 == "_") } == true
                && pair.key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            if !valid {
                reader.error("sql arg name '\(pair.key)' must start with a letter and use ASCII letters, digits and _ only (the query uses it as :'\(pair.key)')", at: pair.keyLocation)
                return nil
            }
            return reader.template(pair.value, "sql arg '\(pair.key)'").map { SQLStep.Argument(name: pair.key, value: $0) }
        }
    }

    /// A placeholder inside a query would splice a value into SQL text (`x'; drop table …`):
    /// values are bound through `args` instead; `| raw` says the author trusts the text as SQL.
    private func refuseSQLPlaceholders(_ query: TemplateString, args: [SQLStep.Argument]) {
        // psql inserts `:name` unquoted, which is the injection again; `::type` casts are not it.
        for arg in args {
            let pattern = "(?<![:A-Za-z0-9_]):\(arg.name)(?![A-Za-z0-9_])"
            if let regex = try? NSRegularExpression(pattern: pattern),
               let match = regex.firstMatch(in: query.source, range: NSRange(query.source.startIndex..., in: query.source)) {
                let offset = query.source.distance(from: query.source.startIndex,
                                                   to: Range(match.range, in: query.source)!.lowerBound)
                let at = query.source.contains("\n") ? query.location : query.location.advanced(by: offset)
                reader.error("':\(arg.name)' in a sql query inserts the value unquoted; write :'\(arg.name)' for a value or :\"\(arg.name)\" for an identifier", at: at)
            }
        }
        for placeholder in TemplateSyntax(query).placeholders where !placeholder.isRaw {
            let name = placeholder.path.last.map { $0.replacingOccurrences(of: "-", with: "_") } ?? "value"
            let suggestion = args.contains { $0.name == name } ? "" : " args: { \(name): \"{{\(placeholder.text)}}\" } and"
            reader.error("'{{\(placeholder.text)}}' inside a sql query would be pasted into the SQL text; bind it instead:\(suggestion) write :'\(name)' in the query (or mark it '| raw' if the value is SQL you trust)",
                         at: placeholder.location)
        }
    }

    private func decodeKind(_ key: String, _ node: Node, on: inout TargetSelector?) -> StepKind? {
        let what = "'\(key)'"
        // Shorthands: a scalar instead of a mapping.
        if case .scalar = node {
            switch key {
            case "shell": return reader.template(node, what).map { .shell(ShellStep(command: $0)) }
            case "wait":
                if reader.takeTemplate(node, as: .duration) { return .wait(WaitStep(duration: .zero)) }
                return reader.duration(node, what).map { .wait(WaitStep(duration: $0)) }
            case "approve": return .approve(ApproveStep(message: reader.template(node, what)))
            case "include":
                return reader.string(node, what).map { .include(IncludeStep(runbook: $0, params: [], location: reader.location(of: node))) }
            case "health", "http": return reader.template(node, what).map { url in
                let step = HTTPStep(url: url)
                return key == "health" ? .health(step) : .http(step)
            }
            default: break
            }
        }
        guard let map = reader.mapping(node, what) else { return nil }
        let declaration = StepDeclarations.kind(key)?.object
        map.declare(declaration)
        if let onNode = map.node("on") {
            on = RunbookDecoder(reader: reader, path: reader.file).decodeTargets(onNode, "'on'")
        }
        defer { map.finish() }
        switch key {
        case "shell":
            guard let command = map.template("command", required: true) else { return nil }
            return .shell(ShellStep(command: command, chdir: map.template("chdir")))
        case "upload":
            let src = map.template("src", required: true, expected: "the local file")
            let dest = map.template("dest", required: true, expected: "the path on the host")
            let mode = decodeMode(map)
            guard let src, let dest else { return nil }
            return .upload(UploadStep(source: src, destination: dest, mode: mode ?? 0o644))
        case "release":
            let artifact = map.template("artifact", required: true, expected: "a tarball such as build/app.tar.gz")
            let path = map.template("path", required: true, expected: "the application directory")
            let id = map.template("id")
            if let id {
                // A constant id is checked whole; a templated one for what its literal text adds.
                let literal = TemplateSyntax(id).parts.compactMap { if case .literal(let t) = $0 { t } else { nil } }.joined()
                let problem = id.isConstant ? PathComponent.problem(id.source)
                    : literal.contains("/") ? "'\(id.source)' contains '/'" : nil
                if let problem { reader.error("'id': release id is not usable: \(problem); \(PathComponent.rule)", at: id.location) }
            }
            let keep = map.int("keep", min: 1) ?? 5
            guard let artifact, let path else { return nil }
            return .release(ReleaseStep(artifact: artifact, path: path, releaseID: id, keep: keep))
        case "service":
            let manager = map.template("manager", required: true, expected: "pm2, systemd or supervisor")
            if let manager, manager.isConstant, ServiceStep.Manager(rawValue: manager.source) == nil {
                let names = ServiceStep.Manager.allCases.map(\.rawValue)
                reader.error("'manager': unknown value '\(manager.source)'; expected one of \(names.joined(separator: ", "))\(Suggestion.hint(for: manager.source, in: names))", at: manager.location)
            }
            let action = map.choice("action", as: ServiceStep.Action.self, required: true)
            let name = map.template("name", required: true, expected: "the program or unit name")
            let config = map.template("config")
            guard let manager, let action, let name else { return nil }
            return .service(ServiceStep(manager: manager, action: action, name: name, config: config))
        case "migrate":
            let dir = map.template("dir", required: true, expected: "the directory of .sql migrations")
            let database = map.template("database", required: true, expected: "a connection string, usually {{ secrets.NAME }}")
            let transaction = map.choice("transaction", as: MigrateStep.Transaction.self) ?? .all
            var table = MigrateStep.defaultTable
            if let given = map.string("table") {
                // An SQL identifier, optionally schema-qualified: it is spliced into SQL, not bound.
                if given.range(of: #"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$"#, options: .regularExpression) == nil {
                    reader.error("'table' must be a table name (letters, digits, _; optionally schema.table), got '\(given)'", at: map.keyLocation("table") ?? reader.location(of: node))
                } else {
                    table = given
                }
            }
            guard let dir, let database else { return nil }
            return .migrate(MigrateStep(directory: dir, database: database, transaction: transaction, table: table))
        case "backup":
            guard let database = map.template("database", required: true, expected: "a connection string, usually {{ secrets.NAME }}") else { return nil }
            return .backup(BackupStep(database: database, to: map.template("to")))
        case "restore":
            guard let from = map.template("from", required: true, expected: "the backup file, e.g. {{ steps.backup.path }}") else { return nil }
            return .restore(RestoreStep(from: from, database: map.template("database")))
        case "sql":
            let query = map.template("query", required: true)
            let database = map.template("database", required: true, expected: "a connection string, usually {{ secrets.NAME }}")
            let args = decodeSQLArguments(map)
            let expect = reader.takeTemplate(map.node("expect"), as: .expect) ? nil : map.expression("expect")
            let noData = map.choice("on_no_data", as: NoDataPolicy.self) ?? .fail
            let timing = map.choice("timing", as: SQLStep.Timing.self) ?? .client
            guard let query, let database else { return nil }
            refuseSQLPlaceholders(query, args: args)
            let step = SQLStep(query: query, database: database, args: args, expect: expect, onNoData: noData, timing: timing)
            if timing == .explain, !step.isReadOnly, let at = map.keyLocation("timing") {
                // EXPLAIN ANALYZE executes the statement: a change would be made twice.
                reader.error("'timing: explain' runs the query a second time under EXPLAIN ANALYZE, so it is only for a read-only query (SELECT/WITH …); this one changes data", at: at)
            }
            return .sql(step)
        case "http", "health":
            guard let step = decodeHTTP(map, kind: key, declaration: declaration) else { return nil }
            return key == "health" ? .health(step) : .http(step)
        case "benchmark":
            return decodeBenchmark(map, declaration: declaration).map { .benchmark($0) }
        case "probe":
            let command = map.template("command", required: true)
            let regex = map.string("regex")
            let json = map.string("json")
            let expect = reader.takeTemplate(map.node("expect"), as: .expect) ? nil : map.expression("expect")
            let noData = map.choice("on_no_data", as: NoDataPolicy.self) ?? .fail
            if let regex {
                if (try? NSRegularExpression(pattern: regex)) == nil, let loc = map.keyLocation("regex") {
                    reader.error("'regex' is not a valid regular expression: \(regex)", at: loc)
                }
            }
            if regex != nil, json != nil, let loc = map.keyLocation("json") {
                reader.error("a probe extracts with 'regex' or 'json', not both", at: loc)
            }
            if let json, !json.hasPrefix("$"), let loc = map.keyLocation("json") {
                reader.error("'json' must be a JSON path starting with $, such as $.queue.depth; found '\(json)'", at: loc)
            }
            guard let command else { return nil }
            let extract: ProbeStep.Extract = regex.map { .regex($0) } ?? json.map { .jsonPath($0) } ?? .wholeOutput
            return .probe(ProbeStep(command: command, extract: extract, expect: expect, onNoData: noData))
        case "metric":
            let prometheus = map.template("prometheus", required: true, expected: "the Prometheus base URL")
            let query = map.template("query", required: true, expected: "a PromQL instant query")
            let expect = reader.takeTemplate(map.node("expect"), as: .expect) ? nil : map.expression("expect")
            let noData = map.choice("on_no_data", as: NoDataPolicy.self) ?? .fail
            guard let prometheus, let query else { return nil }
            return .metric(MetricStep(prometheus: prometheus, query: query, expect: expect, onNoData: noData))
        case "soak":
            // A templated duration is checked against `interval` when it is rendered.
            let templatedDuration = reader.takeTemplate(map.node("duration"), as: .duration)
            let duration = templatedDuration ? Duration.seconds(Int64(Int32.max)) : map.duration("duration", required: true)
            let interval = map.duration("interval") ?? .seconds(30)
            var gates: [Step] = []
            if let list = map.node("gates", required: true, expected: "a list of health, metric, probe or benchmark checks") {
                gates = StepDecoder(reader: reader).decodeList(list, "'gates'")
                for gate in gates {
                    switch gate.kind {
                    case .health, .http, .metric, .probe, .benchmark, .sql: break
                    default:
                        reader.error("a soak gate must be a check (health, http, metric, probe, sql, benchmark), not a \(gate.kind.name) step", at: gate.location)
                    }
                }
            }
            guard let duration else { return nil }
            if interval > duration, let loc = map.keyLocation("interval") {
                reader.error("'interval' (\(DurationText.format(interval))) is longer than 'duration' (\(DurationText.format(duration))); the gates would run once at most", at: loc)
            }
            return .soak(SoakStep(duration: duration, interval: interval, gates: gates))
        case "approve":
            return .approve(ApproveStep(message: map.template("message")))
        case "wait":
            if reader.takeTemplate(map.node("duration"), as: .duration) { return .wait(WaitStep(duration: .zero)) }
            guard let duration = map.duration("duration", required: true) else { return nil }
            return .wait(WaitStep(duration: duration))
        case "notify":
            let url = map.template("url", required: true, expected: "the webhook URL, usually {{ secrets.NAME }}")
            var events: [NotifyStep.Event] = [.now]
            if let node = map.node("events") {
                events = reader.listOrSingle(node).compactMap { reader.choice($0, "an event of 'events'", as: NotifyStep.Event.self) }
            }
            let body = map.node("body").map(reader.configValue)
            let timeout = map.duration("timeout") ?? .seconds(5)
            guard let url else { return nil }
            return .notify(NotifyStep(url: url, events: events, body: body, timeout: timeout))
        case "include":
            guard let runbook = map.string("runbook", required: true) else { return nil }
            let params = map.node("params").map { reader.configEntries($0, "'params'") } ?? []
            return .include(IncludeStep(runbook: runbook, params: params, location: map.location))
        default:
            return nil
        }
    }

    private func decodeMode(_ map: MapReader) -> Int32? {
        guard let node = map.node("mode") else { return nil }
        guard case .scalar(let s) = node, let mode = Int32(s.string, radix: 8), (0...0o7777).contains(mode) else {
            reader.error("'mode' must be an octal file mode such as \"0644\", found \(reader.describe(node))", at: node)
            return nil
        }
        return mode
    }

    private func decodeHTTP(_ map: MapReader, kind: String, declaration: ObjectShape?) -> HTTPStep? {
        let url = map.template("url", required: true)
        var step = HTTPStep(url: url ?? TemplateString("", at: map.location))
        if let methodNode = map.node("method"), let method = reader.string(methodNode, "'method'") {
            let upper = method.uppercased()
            if ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(upper) {
                step.method = upper
            } else {
                reader.error("'method' '\(method)' is not an HTTP method; expected GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS", at: methodNode)
            }
        }
        if let headers = map.node("headers"), let headerMap = reader.mapping(headers, "'headers'") {
            headerMap.accept(headerMap.pairs.map(\.key))
            step.headers = headerMap.pairs.compactMap { pair in
                reader.template(pair.value, "header '\(pair.key)'").map { (name: pair.key, value: $0) }
            }
        }
        if let body = map.template("body") { step.body = .text(body) }
        if let json = map.node("json") {
            if step.body != nil, let loc = map.keyLocation("json") { reader.error("give 'body' or 'json', not both", at: loc) }
            step.body = .json(reader.configValue(json))
        }
        if let expect = map.node("expect") { step.expect = decodeExpectation(expect, declaration: declaration?.nested("expect")) }
        step.within = reader.takeTemplate(map.node("within"), as: .within) ? nil : map.duration("within")
        if let interval = map.duration("interval") { step.interval = interval }
        if let timeout = map.duration("request_timeout") { step.timeout = timeout }
        step.insecure = map.bool("insecure") ?? false
        return url == nil ? nil : step
    }

    private func decodeExpectation(_ node: Node, declaration: ObjectShape?) -> HTTPExpectation {
        var expectation = HTTPExpectation()
        switch node {
        case .scalar(let s):
            if let status = Int(s.string) {
                expectation.statuses = [status]
            } else {
                expectation.condition = reader.expression(node, "'expect'")
            }
            return expectation
        default:
            break
        }
        guard let map = reader.mapping(node, "'expect'")?.declare(declaration) else { return expectation }
        if let status = map.node("status") {
            let statuses = reader.listOrSingle(status).compactMap { reader.int($0, "'status'", min: 100) }
            if !statuses.isEmpty { expectation.statuses = statuses }
        }
        if let json = map.node("json"), let jsonMap = reader.mapping(json, "'json'") {
            jsonMap.accept(jsonMap.pairs.map(\.key))
            for pair in jsonMap.pairs {
                if !pair.key.hasPrefix("$") {
                    reader.error("JSON path '\(pair.key)' must start with $, such as $.status", at: pair.keyLocation)
                    continue
                }
                expectation.json.append((path: pair.key, value: reader.configValue(pair.value), location: pair.keyLocation))
            }
        }
        expectation.bodyContains = map.string("body_contains")
        expectation.condition = map.expression("that")
        map.finish()
        return expectation
    }

    static let thresholdMetrics = StepDeclarations.thresholdMetrics

    private func decodeBenchmark(_ map: MapReader, declaration: ObjectShape?) -> BenchmarkStep? {
        let baseURL = map.template("base_url", required: true, expected: "the URL the scenario paths are relative to")
        var phases: [BenchmarkStep.Phase] = []
        if let list = map.node("phases"), let items = reader.sequence(list, "'phases'") {
            for (i, item) in items.enumerated() {
                guard let phase = reader.mapping(item, "phase \(i + 1)")?.declare(declaration?.nested("phases")) else { continue }
                let name = phase.string("name")
                let duration = phase.duration("duration", required: true)
                let rate = phase.node("rate", required: true, expected: "requests per second").flatMap { reader.number($0, "'rate'") }
                let rampTo = phase.node("ramp_to").flatMap { reader.number($0, "'ramp_to'") }
                phase.finish()
                if let rate, rate < 0 || rate > LoadPlan.maxRate { reader.error("'rate' must be between 0 and \(Int(LoadPlan.maxRate)) requests per second", at: phase.node) }
                if let duration, let rate {
                    phases.append(BenchmarkStep.Phase(name: name, duration: duration, rate: rate, rampTo: rampTo))
                }
            }
        }
        let connections = map.int("connections", min: 1)
        // A templated duration: a placeholder until the run renders it (any non-nil value will do).
        let duration = reader.takeTemplate(map.node("duration"), as: .duration) ? Duration.seconds(1) : map.duration("duration")
        let threads = map.int("threads", min: 1) ?? 2
        let maxInFlight = map.int("max_in_flight", min: 1)
        if phases.isEmpty, connections == nil {
            reader.error("a benchmark needs 'phases' (open loop, requests per second) or 'connections' with 'duration' (closed loop)", at: map.node)
        }
        if connections != nil, duration == nil, phases.isEmpty {
            reader.error("a closed-loop benchmark ('connections') needs a 'duration'", at: map.node)
        }
        var scenarios: [BenchmarkStep.Scenario] = []
        if let list = map.node("scenarios", required: true, expected: "a list such as [{ get: /api/health, weight: 1 }]"),
           let items = reader.sequence(list, "'scenarios'") {
            for (i, item) in items.enumerated() {
                if let scenario = decodeScenario(item, index: i, declaration: declaration?.nested("scenarios")) { scenarios.append(scenario) }
            }
        }
        let targets = map.choice("targets", as: BenchmarkStep.Targets.self) ?? .url
        let compare = map.choice("compare", as: BenchmarkStep.Comparison.self)
        if compare != nil, targets != .batch, let at = map.keyLocation("compare") {
            reader.error("'compare: stable' compares the batch's own hosts with hosts not yet updated, so it needs 'targets: batch'", at: at)
        }
        let sides = compare == nil ? [] : BenchmarkStep.sides
        var thresholds: [BenchmarkStep.Threshold] = []
        let abort = map.bool("abort_on_fail") ?? false
        if let node = map.node("thresholds"), let tmap = reader.mapping(node, "'thresholds'") {
            tmap.accept(tmap.pairs.map(\.key))
            let scenarioNames = scenarios.map(\.name)
            for pair in tmap.pairs {
                let parts = pair.key.split(separator: ".", maxSplits: 1).map(String.init)
                let metric = parts.last ?? pair.key
                if !Self.thresholdMetrics.contains(metric) {
                    reader.error("unknown threshold metric '\(metric)'\(Suggestion.hint(for: metric, in: Self.thresholdMetrics)); expected one of: \(Self.thresholdMetrics.joined(separator: ", "))", at: pair.keyLocation)
                    continue
                }
                if parts.count == 2, !scenarioNames.contains(parts[0]), !sides.contains(parts[0]) {
                    let hint = BenchmarkStep.sides.contains(parts[0]) ? " ('\(parts[0]).' figures need 'targets: batch' and 'compare: stable')" : ""
                    reader.error("threshold '\(pair.key)' names scenario '\(parts[0])', which is not one of: \(scenarioNames.joined(separator: ", "))\(hint)", at: pair.keyLocation)
                    continue
                }
                for conditionNode in reader.listOrSingle(pair.value) {
                    if let condition = reader.condition(conditionNode, subject: pair.key, "threshold '\(pair.key)'") {
                        // A name on either side must be a metric the test produces, or it can never have a value.
                        if case .scalar(let scalar) = conditionNode,
                           let unknown = Expression.unknownName(in: scalar.string, at: reader.contentStart(of: conditionNode), isKnown: { name in
                               Self.thresholdMetrics.contains(name)
                                   || (scenarioNames + sides).contains { name.hasPrefix($0 + ".") && Self.thresholdMetrics.contains(String(name.dropFirst($0.count + 1))) }
                                   // The baseline run's figures and the run's own names (checked by the runbook pass).
                                   || name.hasPrefix(Baseline.root + ".")
                                   || TemplateScope.roots.contains { $0 != "secrets" && name.hasPrefix($0 + ".") }
                           }) {
                            reader.error("threshold '\(pair.key)': '\(unknown.name)' names nothing that has a value; compare with a number such as 500ms or 1%, or a metric: \(Self.thresholdMetrics.joined(separator: ", "))", at: unknown.location)
                            continue
                        }
                        thresholds.append(BenchmarkStep.Threshold(metric: pair.key, condition: condition, abortOnFail: abort))
                    }
                }
            }
        }
        var labels: [String: String] = [:]
        if let node = map.node("labels"), let lmap = reader.mapping(node, "'labels'") {
            lmap.accept(lmap.pairs.map(\.key))
            let keys = Set(thresholds.map(\.metric))
            for pair in lmap.pairs {
                guard keys.contains(pair.key) else {
                    let known = keys.isEmpty ? "it has none" : "it has: \(keys.sorted().joined(separator: ", "))"
                    reader.error("label for '\(pair.key)': the step has no threshold '\(pair.key)'\(Suggestion.hint(for: pair.key, in: keys.sorted())); \(known)", at: pair.keyLocation)
                    continue
                }
                if let text = reader.string(pair.value, "label of threshold '\(pair.key)'") { labels[pair.key] = text }
            }
        }
        let noData = map.choice("on_no_data", as: NoDataPolicy.self) ?? .fail
        guard let baseURL else { return nil }
        var step = BenchmarkStep(baseURL: baseURL, phases: phases, connections: connections, duration: duration, threads: threads,
                                 maxInFlight: maxInFlight, scenarios: scenarios, thresholds: thresholds, onNoData: noData)
        step.labels = labels
        step.targets = targets
        step.compare = compare
        return step
    }

    private static let methods = ["get", "post", "put", "patch", "delete", "head"]

    private func decodeScenario(_ node: Node, index: Int, declaration: ObjectShape?) -> BenchmarkStep.Scenario? {
        guard let map = reader.mapping(node, "scenario \(index + 1)")?.declare(declaration) else { return nil }
        let methodKeys = map.pairs.filter { Self.methods.contains($0.key) }
        map.accept(Self.methods)
        guard let methodPair = methodKeys.first else {
            reader.error("scenario \(index + 1) needs a method key with the path, such as 'get: /api/health' or 'post: /api/message'", at: node)
            map.accept(["name", "headers", "json", "weight", "expect_status"])
            map.finish()
            return nil
        }
        if methodKeys.count > 1 {
            reader.error("scenario \(index + 1) has more than one method ('\(methodKeys[0].key)' and '\(methodKeys[1].key)')", at: methodKeys[1].keyLocation)
        }
        guard let path = reader.template(methodPair.value, "'\(methodPair.key)'") else { map.finish(); return nil }
        let name = map.string("name") ?? "\(methodPair.key.uppercased()) \(path.source)"
        var headers: [String: TemplateString] = [:]
        if let node = map.node("headers"), let hmap = reader.mapping(node, "'headers'") {
            hmap.accept(hmap.pairs.map(\.key))
            for pair in hmap.pairs { headers[pair.key] = reader.template(pair.value, "header '\(pair.key)'") }
        }
        let json = map.node("json").map(reader.configValue)
        let weight = map.int("weight", min: 1) ?? 1
        var expectStatus: [Int] = []
        if let node = map.node("expect_status") {
            expectStatus = reader.listOrSingle(node).compactMap { reader.int($0, "'expect_status'", min: 100) }
        }
        map.finish()
        return BenchmarkStep.Scenario(name: name, method: methodPair.key.uppercased(), path: path, headers: headers,
                                      json: json, weight: weight, expectStatus: expectStatus)
    }
}
