/// Binds `-p name=value` arguments to a runbook's declared params: unknown names, missing required
/// params, wrong types and values outside `choices` are errors naming the param.
public enum ParamBinder {
    public static func bind(_ given: [(name: String, value: String)], to runbook: Runbook) -> Result<[String: ConfigValue], DiagnosticsError> {
        var bound: [String: ConfigValue] = [:]
        var bag = DiagnosticBag()
        let cli = SourceLocation.synthetic("command line")
        for (name, value) in given {
            guard let spec = runbook.param(named: name) else {
                let hint = Suggestion.hint(for: name, in: runbook.params.map(\.name))
                let known = runbook.params.isEmpty ? "it declares none" : "it declares: \(runbook.params.map(\.name).joined(separator: ", "))"
                bag.error("-p \(name): runbook '\(runbook.name)' has no param '\(name)'\(hint); \(known)", at: cli)
                continue
            }
            switch convert(value, to: spec.kind) {
            case .some(let converted):
                if let choices = spec.choices, !choices.contains(value) {
                    bag.error("-p \(name): '\(value)' is not one of the allowed values: \(choices.joined(separator: ", "))", at: cli)
                } else {
                    bound[name] = converted
                }
            case .none:
                bag.error("-p \(name): '\(value)' is not a valid \(spec.kind.rawValue)\(example(spec.kind))", at: cli)
            }
        }
        for spec in runbook.params where bound[spec.name] == nil && !given.contains(where: { $0.name == spec.name }) {
            if let value = spec.defaultValue {
                bound[spec.name] = value
            } else if spec.required {
                bag.error("missing required param '\(spec.name)' (declared at \(spec.location)); pass it as -p \(spec.name)=VALUE", at: cli)
            }
        }
        return bag.hasErrors ? .failure(DiagnosticsError(bag.items)) : .success(bound)
    }

    static func convert(_ text: String, to kind: ParamSpec.Kind) -> ConfigValue? {
        switch kind {
        case .string: return .string(text)
        case .int: return Int(text).map { .number(Double($0)) }
        case .number: return Double(text).flatMap { $0.isFinite ? .number($0) : nil }
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "1": return .bool(true)
            case "false", "no", "0": return .bool(false)
            default: return nil
            }
        case .duration: return DurationText.parse(text).map { _ in .string(text) }
        }
    }

    static func example(_ kind: ParamSpec.Kind) -> String {
        switch kind {
        case .string: ""
        case .int: " (a whole number such as 3)"
        case .number: " (a number such as 2.5)"
        case .bool: " (true or false)"
        case .duration: " (such as 30s or 5m)"
        }
    }
}
