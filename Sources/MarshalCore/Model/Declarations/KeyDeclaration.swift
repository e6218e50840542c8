/// The declared shape of runbook and environment files: every key the decoder reads, with its type,
/// default and meaning. The decoder refuses keys not declared here, and `marshal schema` and
/// `marshal docs` are generated from the same tables, so the three cannot drift apart.
public indirect enum ValueShape: Sendable, Hashable {
    case string
    /// A string that may hold `{{ … }}` placeholders.
    case template
    case integer(minimum: Int?, maximum: Int? = nil)
    /// A name referenced elsewhere (`steps.ID`): a letter or _, then letters, digits, _.
    case identifier
    /// A share such as "50%", from `minimum`% to 100%.
    case percent(minimum: Int)
    /// An octal file mode such as "0644".
    case fileMode
    /// One of these words, or a template that renders to one.
    case choiceOrTemplate([String])
    /// Keys matching a pattern (a regular expression, as in JSON Schema), each with a value of this shape.
    case keyed(pattern: String, value: ValueShape)
    case number
    case boolean
    /// A number with a unit: 500ms, 30s, 2m, 1h.
    case duration
    /// A duration, or a template (`"{{ params.pause }}"`) rendered to one when the run starts.
    case durationOrTemplate
    /// An expression such as "value >= 5" (see templates-and-expressions.md).
    case expression
    /// One of these words.
    case choice([String])
    case list(ValueShape)
    /// A list, or a single value read as a one-element list.
    case listOrOne(ValueShape)
    /// Keys chosen by the author, each with a value of this shape.
    case dictionary(ValueShape)
    case object(ObjectShape)
    /// Any of these shapes (the first that fits).
    case anyOf([ValueShape])
    /// A list of steps (see the step kinds).
    case steps
    /// A single step (an `undo`).
    case step
    /// Free-form YAML: vars, JSON bodies.
    case any

    /// A short type name for docs: `string`, `duration`, `list of string`, `pm2 | systemd | supervisor`.
    public var summary: String {
        switch self {
        case .string: "string"
        case .template: "template"
        case .integer(let minimum, let maximum):
            switch (minimum, maximum) {
            case (let lo?, let hi?): "integer \(lo)–\(hi)"
            case (let lo?, nil): "integer ≥ \(lo)"
            default: "integer"
            }
        case .identifier: "name"
        case .percent(let minimum): "\(minimum)%–100%"
        case .fileMode: "octal mode"
        case .choiceOrTemplate(let words): words.joined(separator: " \\| ") + " or template"
        case .keyed(_, let value): "map of key → \(value.summary)"
        case .number: "number"
        case .boolean: "boolean"
        case .duration: "duration"
        case .durationOrTemplate: "duration or template"
        case .expression: "expression"
        case .choice(let words): words.joined(separator: " \\| ")
        case .list(let item): "list of \(item.summary)"
        case .listOrOne(let item): "\(item.summary) or list of them"
        case .dictionary(let value): "map of name → \(value.summary)"
        case .object(let object): object.name
        case .anyOf(let shapes): shapes.map(\.summary).joined(separator: " or ")
        case .steps: "list of steps"
        case .step: "step"
        case .any: "any value"
        }
    }
}

/// One key of a mapping.
public struct KeyDeclaration: Sendable, Hashable {
    public var name: String
    public var shape: ValueShape
    public var required: Bool
    /// The default, as written in a file ("5", "30s"), or nil when there is none.
    public var defaultValue: String?
    public var summary: String

    public init(_ name: String, _ shape: ValueShape, required: Bool = false, default defaultValue: String? = nil, _ summary: String) {
        self.name = name
        self.shape = shape
        self.required = required
        self.defaultValue = defaultValue
        self.summary = summary
    }
}

/// A mapping with declared keys.
public struct ObjectShape: Sendable, Hashable {
    public var name: String
    public var keys: [KeyDeclaration]
    /// Keys of which exactly one must be given (a benchmark scenario's method).
    public var exactlyOneOf: [String]
    /// Keys of which at least one must be given (a benchmark's phases or connections).
    public var atLeastOneOf: [String]

    public init(_ name: String, keys: [KeyDeclaration], exactlyOneOf: [String] = [], atLeastOneOf: [String] = []) {
        self.name = name
        self.keys = keys
        self.exactlyOneOf = exactlyOneOf
        self.atLeastOneOf = atLeastOneOf
    }

    public var keyNames: [String] { keys.map(\.name) }
    public func key(_ name: String) -> KeyDeclaration? { keys.first { $0.name == name } }
}

extension ValueShape {
    /// The mapping shape inside this one (an object, a list or map of objects, or an alternative that is one).
    public var object: ObjectShape? {
        switch self {
        case .object(let o): o
        case .list(let item), .listOrOne(let item), .dictionary(let item), .keyed(_, let item): item.object
        case .anyOf(let shapes): shapes.lazy.compactMap(\.object).first
        default: nil
        }
    }
}

extension ObjectShape {
    /// The declared mapping under `key` (`phases` of a benchmark → phase).
    public func nested(_ key: String) -> ObjectShape? { self.key(key)?.shape.object }
}
