import Foundation

/// `redis: { url: redis://host:6379/0, password: "{{ secrets.redis }}", queues: [default],
/// keys: { failed_jobs: { zcard: failed_jobs } }, expect: "queue_depth < 50" }`: INFO fields and key
/// sizes of a Redis server, as named values held to `expect`.
public struct RedisStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "redis", summary: "INFO fields and key sizes of a Redis server (cache hit rate, queue depth, failed jobs) held to an expectation.",
        keys: [
            KeyDeclaration("url", .template, required: true, "redis://host:port/db (TLS is not supported; reach a private server with `on:`)."),
            KeyDeclaration("password", .template, "Sent with AUTH over the connection (with `on:`, to redis-cli in its environment), usually `{{ secrets.NAME }}`."),
            KeyDeclaration("queues", .listOrOne(.template), "Laravel queue names: `queue_depth` is the sum of `LLEN queues:NAME`."),
            KeyDeclaration("keys", .dictionary(.any), "NAME → `{ llen|zcard|scard|hlen|get: KEY }`: named values, e.g. `failed_jobs: { zcard: failed_jobs }`."),
            KeyDeclaration("expect", .expression, "An expression over any INFO field (`keyspace_hits`, `used_memory`, `db0.keys`), `hits`, `misses`, `hit_rate`, `lifetime_hit_rate`, `queue_depth` and the `keys` names."),
            StepDeclarations.noData,
            StepDeclarations.over,
            KeyDeclaration("request_timeout", .duration, default: "5s", "Connect and answer timeout."),
        ],
        runs: "From this machine over TCP, once per batch; with `on:`, through `redis-cli` on those hosts (the password in its environment).",
        evidence: "The named and derived values, `server`; with `over:`, `window` (start, end, delta, rate per second and per minute). `hit_rate` is over the window when there is one, else since the server started (`lifetime_hit_rate`); `hits` and `misses` leave out the check's own key reads.",
        undo: .changesNothing,
        example: """
        - redis: { url: "{{ vars.redis_url }}", password: "{{ secrets.redis_password }}", queues: [default], expect: "queue_depth < 50" }
        """)

    /// A named value read from one key.
    public struct Key: Sendable, Hashable {
        public enum Command: String, Sendable, Hashable, CaseIterable {
            case llen, zcard, scard, get, hlen
            /// The Redis command, as sent.
            public var verb: String { rawValue.uppercased() }
        }

        public var name: String
        public var command: Command
        public var key: TemplateString
        public init(name: String, command: Command, key: TemplateString) {
            self.name = name
            self.command = command
            self.key = key
        }
    }

    /// `redis://host:port/db`; a password in it is used for AUTH like `password`.
    public var url: TemplateString
    /// Sent with AUTH over the connection (or to redis-cli in its environment), never in an argument list.
    public var password: TemplateString?
    /// Laravel queue names: `queue_depth` is the sum of `LLEN queues:NAME`.
    public var queues: [TemplateString] = []
    public var keys: [Key] = []
    public var expect: Expression?
    public var onNoData: NoDataPolicy = .fail
    /// Connect and answer timeout of one check.
    public var timeout: Duration = .seconds(5)

    /// Names every redis check offers besides the INFO fields (`keyspace_hits`, `used_memory`, …).
    public static let derivedNames = ["hits", "misses", "hit_rate", "lifetime_hit_rate"]

    public static func decode(_ map: any DecodingMap) -> RedisStep? {
        let url = map.template("url", required: true, expected: "redis://host:port/db")
        if let url, url.isConstant {
            if case .failure(let failure) = RedisEndpoint.parse(url.source, password: nil) {
                map.error(failure.message.replacingOccurrences(of: "redis: ", with: "'url': "), at: url.location)
            } else if URLComponents(string: url.source)?.password?.isEmpty == false {
                map.error("'url' holds a password written in the runbook; give it as 'password: \"{{ secrets.NAME }}\"'", at: url.location)
            }
        }
        let password = map.template("password")
        if let password, password.isConstant, !password.source.isEmpty {
            map.error("'password' is written in the runbook; give a secret instead: password: \"{{ secrets.NAME }}\"", at: password.location)
        }
        let queues = map.node("queues").map { $0.listOrSingle().compactMap { $0.template("a queue of 'queues'") } } ?? []
        var keys: [Key] = []
        let commands = Key.Command.allCases.map(\.rawValue)
        if let node = map.node("keys"), let kmap = node.mapping("'keys'") {
            kmap.accept(kmap.entries.map(\.key))
            for entry in kmap.entries {
                guard isName(entry.key) else {
                    map.error("key name '\(entry.key)' must start with a letter and use letters, digits and _ only (expect uses it as a name)", at: entry.keyLocation)
                    continue
                }
                if entry.key == "queue_depth" || derivedNames.contains(entry.key) {
                    map.error("'\(entry.key)' is a value every redis check has; name this key something else", at: entry.keyLocation)
                    continue
                }
                guard let spec = entry.value.mapping("key '\(entry.key)'") else { continue }
                spec.accept(commands)
                let given = spec.entries.filter { commands.contains($0.key) }
                spec.finish()
                guard given.count == 1, let command = Key.Command(rawValue: given[0].key),
                      let key = given[0].value.template("'\(given[0].key)'") else {
                    map.error("key '\(entry.key)' needs exactly one of \(commands.joined(separator: ", ")) with the Redis key, such as { llen: \"queues:default\" }", at: entry.keyLocation)
                    continue
                }
                keys.append(Key(name: entry.key, command: command, key: key))
            }
        }
        let expect = map.expression("expect")
        let noData = map.choice("on_no_data", as: NoDataPolicy.self) ?? .fail
        let timeout = map.duration("request_timeout") ?? .seconds(5)
        guard let url else { return nil }
        return RedisStep(url: url, password: password, queues: queues, keys: keys, expect: expect, onNoData: noData, timeout: timeout)
    }

    private static func isName(_ text: String) -> Bool {
        guard let first = text.first, first.isLetter || first == "_" else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    public var isCheck: Bool { true }
    public var templates: [TemplateString] { [url, password].compactMap { $0 } + queues + keys.map(\.key) }
    public var expressions: [Expression] { [expect].compactMap { $0 } }
    public var isReadOnly: Bool { true }
    public var runsFromController: Bool { true }
    public var canBeApproved: Bool { onNoData == .pause }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        var reads = ["INFO"] + queues.map { "LLEN queues:\(plan.render($0).plainDisplay)" }
        reads += keys.map { "\($0.name) = \($0.command.verb) \(plan.render($0.key).plainDisplay)" }
        let via = step.on == nil ? "" : " (redis-cli on the host)"
        return "redis \(URLMask.display(plan.render(url).plainDisplay))\(via): \(reads.joined(separator: ", "))"
            + (expect.map { "; expect \($0.source)" } ?? "") + (step.over.map { " over \($0)" } ?? "")
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        // With `on:`, the server is asked from that host with its redis-cli; otherwise over TCP from here.
        if step.on != nil, target.host != nil {
            let (_, executor) = try await target.remote(for: step)
            return try await RedisRunner(client: RedisCLIClient(executor: executor)).run(self, context: context)
        }
        guard let client = target.redis else {
            throw StepFailure("redis steps need the Redis adapter, which this command was not built with")
        }
        return try await RedisRunner(client: client).run(self, context: context)
    }
}

extension StepKind {
    public static func redis(_ settings: RedisStep) -> StepKind { StepKind(settings) }
}
