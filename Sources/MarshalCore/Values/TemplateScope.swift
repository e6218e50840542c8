/// The names a template may use: `params`, `vars`, `secrets`, `host`, `env`, `steps.<id>`, `run`.
public struct TemplateScope: Sendable {
    public enum Value: Sendable {
        case value(ConfigValue)
        case secret(Secret)
    }

    public static let roots = ["params", "vars", "secrets", "host", "env", "steps", "run", "failed_run"]

    public var params: [String: ConfigValue]
    /// Environment vars with the host's vars laid over them.
    public var vars: ConfigValue
    public var secrets: [String: Secret]
    public var host: HostSpec?
    public var env: [String: String]
    /// Evidence of earlier steps by id or register name; nil while planning (then shown unresolved).
    public var steps: [String: ConfigValue]?
    public var run: [String: String]
    /// In a runbook-level `rollback:` or an `on_failure: { run: }` runbook: the run that failed
    /// (`id`, `runbook`, `summary`).
    public var failedRun: [String: String] = [:]
    /// Params that hold a secret (given one by an include or on_failure): `params.NAME` is that secret.
    public var secretParams: [String: Secret] = [:]

    public init(params: [String: ConfigValue] = [:], vars: ConfigValue = .map([]), secrets: [String: Secret] = [:],
                host: HostSpec? = nil, env: [String: String] = [:], steps: [String: ConfigValue]? = nil, run: [String: String] = [:]) {
        self.params = params
        self.vars = vars
        self.secrets = secrets
        self.host = host
        self.env = env
        self.steps = steps
        self.run = run
    }

    /// Environment vars overlaid with a host's vars (host wins), as templates see them.
    public static func mergedVars(environment: Environment, host: HostSpec?) -> ConfigValue {
        var entries = environment.vars
        for entry in host?.vars ?? [] {
            entries.removeAll { $0.key == entry.key }
            entries.append(entry)
        }
        return .map(entries)
    }

    public enum Lookup: Sendable {
        case found(Value)
        /// The name is a `steps.` reference and evidence is not known yet (planning).
        case deferred
        case undefined(suggestion: String?)
    }

    /// Resolves a dotted path such as `host.vars.base_url` or `steps.backup.path`.
    public func lookup(_ path: [String]) -> Lookup {
        guard let root = path.first else { return .undefined(suggestion: nil) }
        let rest = Array(path.dropFirst())
        switch root {
        case "params":
            if rest.count == 1, let secret = secretParams[rest[0]] { return .found(.secret(secret)) }
            return descend(.map(params.sorted { $0.key < $1.key }.map { ConfigEntry(key: $0.key, value: $0.value, location: .synthetic("params")) }), rest, prefix: "params")
        case "vars": return descend(vars, rest, prefix: "vars")
        case "secrets":
            guard rest.count == 1 else {
                return .undefined(suggestion: rest.isEmpty ? nil : "secrets.\(rest[0])")
            }
            if let secret = secrets[rest[0]] { return .found(.secret(secret)) }
            return .undefined(suggestion: Suggestion.closest(to: rest[0], in: Array(secrets.keys)).map { "secrets.\($0)" })
        case "host":
            guard let host else { return .undefined(suggestion: nil) }
            let value: ConfigValue = .map([
                ConfigEntry(key: "name", value: .string(host.name), location: host.location),
                ConfigEntry(key: "address", value: .string(host.address), location: host.location),
                ConfigEntry(key: "port", value: .number(Double(host.port)), location: host.location),
                ConfigEntry(key: "roles", value: .list(host.roles.map { .string($0) }), location: host.location),
                ConfigEntry(key: "vars", value: vars, location: host.location),
            ])
            return descend(value, rest, prefix: "host")
        case "env":
            guard rest.count == 1 else { return .undefined(suggestion: nil) }
            guard let value = env[rest[0]] else { return .undefined(suggestion: nil) }
            // A secret read again through the environment (`secrets:` from env VAR, then
            // `{{ env.VAR }}`) is still that secret: it masks wherever it is shown.
            if let secret = secrets.values.first(where: { $0.reveal() == value && !value.isEmpty }) { return .found(.secret(secret)) }
            return .found(.value(.string(value)))
        case "steps":
            guard let steps else { return .deferred }
            return descend(.map(steps.sorted { $0.key < $1.key }.map { ConfigEntry(key: $0.key, value: $0.value, location: .synthetic("steps")) }), rest, prefix: "steps")
        case "run":
            guard rest.count == 1 else { return .undefined(suggestion: nil) }
            if let value = run[rest[0]] { return .found(.value(.string(value))) }
            // While planning, what only the run knows (its id, start, operator) stays a reference.
            if steps == nil, RunScope.knownOnlyAtRunTime.contains(rest[0]) { return .deferred }
            return .undefined(suggestion: Suggestion.closest(to: rest[0], in: Array(run.keys)).map { "run.\($0)" })
        case "failed_run":
            guard rest.count == 1 else { return .undefined(suggestion: nil) }
            if let value = failedRun[rest[0]] { return .found(.value(.string(value))) }
            // While planning a rollback: list, the failure it answers has not happened.
            if steps == nil, FailedRunScope.keys.contains(rest[0]) { return .deferred }
            return .undefined(suggestion: nil)
        default:
            return .undefined(suggestion: Suggestion.closest(to: root, in: Self.roots))
        }
    }

    private func descend(_ value: ConfigValue, _ path: [String], prefix: String) -> Lookup {
        var current = value
        var walked = prefix
        for key in path {
            switch current {
            case .map(let entries):
                guard let next = entries.last(where: { $0.key == key })?.value else {
                    return .undefined(suggestion: Suggestion.closest(to: key, in: entries.map(\.key)).map { "\(walked).\($0)" })
                }
                current = next
            case .list(let items):
                guard let index = Int(key), items.indices.contains(index) else { return .undefined(suggestion: nil) }
                current = items[index]
            default:
                return .undefined(suggestion: nil)
            }
            walked += ".\(key)"
        }
        return .found(.value(current))
    }
}
