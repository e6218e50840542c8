import Foundation

/// `redis`: INFO and key sizes as named values held to `expect`. A value the expectation names
/// that the server did not give (a missing key, no lookups in the window) is no data, never zero.
struct RedisRunner {
    var client: any RedisClient

    func run(_ step: RedisStep, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let url = try context.render(step.url).plainValue
        let password = try step.password.map { (template: TemplateString) throws(StepFailure) -> Secret in
            Secret(name: "redis password", value: try context.render(template).plainValue)
        }
        let endpoint: RedisEndpoint
        switch RedisEndpoint.parse(url, password: password?.reveal().isEmpty == false ? password : nil) {
        case .success(let parsed): endpoint = parsed
        case .failure(let failure): throw failure
        }
        var queues: [String] = []
        for queue in step.queues { queues.append(try context.render(queue).plainValue) }
        var keys: [(RedisStep.Key, String)] = []
        for key in step.keys { keys.append((key, try context.render(key.key).plainValue)) }

        let commands = Self.commands(queues: queues, keys: keys)
        let display = "redis \(endpoint.display): " + commands.map { $0.joined(separator: " ") }.joined(separator: "; ")
        let replies: [RedisReply]
        do {
            replies = try await client.execute(commands, at: endpoint, timeout: step.timeout)
        } catch {
            return StepOutcome(status: .failed, message: context.masker.mask(error.description), command: display,
                               measurements: [.init(kind: .redis, name: endpoint.display, outcome: .error, expectation: step.expect?.source)])
        }
        let values: [String: ExprValue]
        do {
            values = try Self.values(replies: replies, queues: queues, keys: keys, endpoint: endpoint, window: context.window)
        } catch {
            return StepOutcome(status: .failed, message: context.masker.mask(error.description), command: display,
                               measurements: [.init(kind: .redis, name: endpoint.display, outcome: .error, expectation: step.expect?.source)])
        }
        let verdict = GateCheck.evaluate(step.expect, in: context.expressionScope(values), onNoData: step.onNoData, what: "redis")
        // Evidence: the named and derived values and whatever the expectation read; not all of INFO.
        let referenced = step.expect.map { $0.names.union($0.windowedNames) } ?? []
        var shown = Set(RedisStep.derivedNames + step.keys.map(\.name) + ["keyspace_hits", "keyspace_misses"]).union(referenced)
        if !queues.isEmpty { shown.insert("queue_depth") }
        var evidence = shown.sorted().compactMap { name in
            values[name].map { ConfigEntry(key: name, value: ConfigValue($0), location: .synthetic("evidence")) }
        }
        evidence.append(ConfigEntry(key: "server", value: .string(endpoint.display), location: .synthetic("evidence")))
        if let window = context.window {
            let windowed = Set(step.expect?.windowedNames ?? []).union(["keyspace_hits", "keyspace_misses"]).union(step.keys.map(\.name))
            evidence.append(ConfigEntry(key: "window", value: window.evidence(current: values, names: windowed.sorted()), location: .synthetic("evidence")))
        }
        let subject = step.expect?.bound?.name ?? step.expect?.names.sorted().first
        var value: Double?
        if let subject, case .number(let n)? = values[subject] { value = n }
        var outcome = StepOutcome(status: verdict.status, message: verdict.message, evidence: .map(evidence), command: display,
                                  measurements: [.init(kind: .redis, name: "\(endpoint.display) \(subject ?? "")".trimmingCharacters(in: .whitespaces),
                                                       outcome: verdict.outcome, expectation: step.expect?.source, value: value,
                                                       unit: subject.map { Quantity(name: $0) == .fraction ? "%" : nil } ?? nil,
                                                       payloadJSON: ConfigValue.map(evidence).jsonText)])
        outcome.sample = values.numbers
        return outcome
    }

    /// LLEN of each queue, each key's command, then INFO: one reply each, in this order. INFO comes
    /// last so its counters include this check's own key reads, which `hits`/`misses` then leave out.
    static func commands(queues: [String], keys: [(RedisStep.Key, String)]) -> [[String]] {
        queues.map { ["LLEN", "queues:" + $0] } + keys.map { [$0.0.command.verb, $0.1] } + [["INFO"]]
    }

    /// The named values from the replies, in `commands` order.
    static func values(replies: [RedisReply], queues: [String], keys: [(RedisStep.Key, String)], endpoint: RedisEndpoint,
                       window: WindowSample?) throws(RedisError) -> [String: ExprValue] {
        let expected = 1 + queues.count + keys.count
        guard replies.count == expected else {
            throw .protocolError(endpoint: endpoint.display, reason: "\(replies.count) replies to \(expected) commands")
        }
        guard let info = replies[expected - 1].text else {
            throw .command(endpoint: endpoint.display, command: "INFO", reply: describe(replies[expected - 1]))
        }
        var values = parseInfo(info)
        // Each key read is a keyspace lookup: a hit when the key exists (Redis deletes empty lists,
        // sets and hashes, so a length of 0 is a missing key), a miss otherwise.
        var ownHits = 0.0, ownMisses = 0.0
        if !queues.isEmpty {
            var depth = 0.0
            for (i, queue) in queues.enumerated() {
                guard case .integer(let n) = replies[i] else {
                    throw .command(endpoint: endpoint.display, command: "LLEN queues:\(queue)", reply: describe(replies[i]))
                }
                depth += Double(n)
                if n > 0 { ownHits += 1 } else { ownMisses += 1 }
            }
            values["queue_depth"] = .number(depth)
        }
        for (i, (key, name)) in keys.enumerated() {
            let reply = replies[queues.count + i]
            switch (key.command, reply) {
            case (.get, .bulk(nil)):
                ownMisses += 1
                continue  // a missing key has no value: no data if the expectation needs it
            case (.get, .bulk(let bytes?)):
                ownHits += 1
                let text = String(decoding: bytes, as: UTF8.self)
                values[key.name] = Double(text.trimmingCharacters(in: .whitespaces)).map { .number($0) } ?? .string(text)
            case (_, .integer(let n)):
                if n > 0 { ownHits += 1 } else { ownMisses += 1 }
                values[key.name] = .number(Double(n))
            default:
                throw .command(endpoint: endpoint.display, command: "\(key.command.verb) \(name) (for \(key.name))", reply: describe(reply))
            }
        }
        if case .number(let rawHits)? = values["keyspace_hits"], case .number(let rawMisses)? = values["keyspace_misses"] {
            // The application's lookups: the counters before this check's own reads.
            let hits = rawHits - ownHits, misses = rawMisses - ownMisses
            values["hits"] = .number(hits)
            values["misses"] = .number(misses)
            if hits + misses > 0 { values["lifetime_hit_rate"] = .number(hits / (hits + misses)) }
            if let window {
                // Over a window, the hit rate is of the lookups made during it: a release that
                // misses every time shows as such even when the server's lifetime counters look
                // good. From after the first sample's reads (its raw counters) to before the last's.
                if let h = window.value(of: "keyspace_hits", current: values), let m = window.value(of: "keyspace_misses", current: values),
                   let endHits = window.end?["hits"] ?? hits as Double?, let endMisses = window.end?["misses"] ?? misses as Double? {
                    let dh = endHits - h.start, dm = endMisses - m.start
                    if dh + dm > 0 { values["hit_rate"] = .number(dh / (dh + dm)) }
                }
            } else if let lifetime = values["lifetime_hit_rate"] {
                values["hit_rate"] = lifetime
            }
        }
        return values
    }

    /// `field:value` lines of INFO; `db0:keys=3,expires=0` becomes `db0.keys`, `db0.expires`.
    static func parseInfo(_ text: String) -> [String: ExprValue] {
        var values: [String: ExprValue] = [:]
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !line.isEmpty, !line.hasPrefix("#"), let colon = line.firstIndex(of: ":") else { continue }
            let field = String(line[..<colon])
            let value = String(line[line.index(after: colon)...])
            if field.hasPrefix("db"), Int(field.dropFirst(2)) != nil, value.contains("=") {
                for pair in value.split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    guard parts.count == 2 else { continue }
                    values["\(field).\(parts[0])"] = Double(parts[1]).map { .number($0) } ?? .string(parts[1])
                }
                continue
            }
            values[field] = Double(value).map { .number($0) } ?? .string(value)
        }
        return values
    }

    static func describe(_ reply: RedisReply) -> String {
        switch reply {
        case .error(let message): "an error: \(message.prefix(200))"
        case .simple(let s): "'\(s.prefix(80))'"
        case .integer(let n): "the integer \(n)"
        case .bulk(nil): "nil (no such key)"
        case .bulk(let b?): "a string of \(b.count) bytes"
        case .array(nil): "a nil array"
        case .array(let items?): "an array of \(items.count)"
        }
    }
}
