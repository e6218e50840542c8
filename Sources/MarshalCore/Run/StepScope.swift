/// What an expression in a step (`when`, `until`, `expect`) can see: the template names
/// (`params.x`, `vars.x`, `host.name`, `steps.id.field`) and the step's own result
/// (`value`, `status`, `stdout`, `exit_status`, …). Secrets are never visible to expressions.
public struct StepScope: ExpressionScope {
    public var templates: TemplateScope
    public var values: [String: ExprValue]
    public var document: ExprValue?
    /// The run `baseline.<step id>.<metric>` reads from; nil: none was looked up.
    public var baseline: Baseline?
    /// Where the gate runs, so a per-host baseline figure is taken from the same host and batch.
    public var batch: Int?

    public init(templates: TemplateScope, values: [String: ExprValue] = [:], document: ExprValue? = nil,
                baseline: Baseline? = nil, batch: Int? = nil) {
        self.templates = templates
        self.values = values
        self.document = document
        self.baseline = baseline
        self.batch = batch
    }

    public func value(of name: String) -> ExprValue? {
        if let own = values[name] { return own }
        if name.hasPrefix(Baseline.root + ".") {
            return baseline?.value(of: name, host: templates.host?.name, batch: batch)
        }
        let path = name.split(separator: ".").map(String.init)
        guard let root = path.first, TemplateScope.roots.contains(root), root != "secrets" else { return nil }
        if case .found(.value(let value)) = templates.lookup(path) { return ExprValue(value) }
        return nil
    }

    public func whyNoData(_ name: String) -> String? {
        guard name.hasPrefix(Baseline.root + ".") else { return nil }
        return baseline?.whyNoData(name) ?? "no baseline run was looked up"
    }
}

extension ExprValue {
    public init(_ value: ConfigValue) {
        switch value {
        case .string(let s): self = .string(s)
        case .number(let n): self = .number(n)
        case .bool(let b): self = .bool(b)
        case .null: self = .null
        case .list(let items): self = .array(items.map(ExprValue.init))
        case .map(let entries): self = .object(Dictionary(entries.map { ($0.key, ExprValue($0.value)) }, uniquingKeysWith: { _, b in b }))
        }
    }
}

extension ConfigValue {
    /// Evidence built from an expression value (e.g. a parsed JSON document).
    public init(_ value: ExprValue) {
        switch value {
        case .string(let s): self = .string(s)
        case .number(let n): self = .number(n)
        case .bool(let b): self = .bool(b)
        case .null: self = .null
        case .array(let items): self = .list(items.map(ConfigValue.init))
        case .object(let dict):
            self = .map(dict.keys.sorted().map { ConfigEntry(key: $0, value: ConfigValue(dict[$0]!), location: .synthetic("evidence")) })
        }
    }

    /// A map from plain pairs, for building evidence.
    public static func record(_ pairs: KeyValuePairs<String, ConfigValue>) -> ConfigValue {
        .map(pairs.map { ConfigEntry(key: $0.key, value: $0.value, location: .synthetic("evidence")) })
    }
}
