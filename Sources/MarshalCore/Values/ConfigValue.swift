import Foundation

/// A free-form value from a YAML file (vars, params, JSON bodies), kept with its source position.
public indirect enum ConfigValue: Sendable, Hashable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case list([ConfigValue])
    case map([ConfigEntry])

    /// Plain Swift value for template contexts and JSON encoding.
    public var plain: any Sendable {
        switch self {
        case .string(let s): s
        case .number(let n): n.rounded() == n && abs(n) < 1e15 ? Int(n) as any Sendable : n
        case .bool(let b): b
        case .null: Optional<String>.none as any Sendable
        case .list(let items): items.map(\.plain)
        case .map(let entries): Dictionary(entries.map { ($0.key, $0.value.plain) }, uniquingKeysWith: { _, last in last })
        }
    }

    /// Text used when the value is placed in a string (a number prints without a trailing `.0`).
    public var text: String {
        switch self {
        case .string(let s): s
        case .number(let n): n.rounded() == n && abs(n) < 1e15 ? String(Int(n)) : String(n)
        case .bool(let b): String(b)
        case .null: ""
        case .list, .map: jsonText
        }
    }

    public var jsonText: String {
        switch self {
        case .string(let s): JSONText.quote(s)
        case .number, .bool: text
        case .null: "null"
        case .list(let items): "[" + items.map(\.jsonText).joined(separator: ",") + "]"
        case .map(let entries): "{" + entries.map { JSONText.quote($0.key) + ":" + $0.value.jsonText }.joined(separator: ",") + "}"
        }
    }

    public subscript(key: String) -> ConfigValue? {
        if case .map(let entries) = self { return entries.last { $0.key == key }?.value }
        return nil
    }
}

public struct ConfigEntry: Sendable, Hashable {
    public var key: String
    public var value: ConfigValue
    public var location: SourceLocation

    public init(key: String, value: ConfigValue, location: SourceLocation) {
        self.key = key
        self.value = value
        self.location = location
    }
}

extension ConfigEntry {
    /// A string value as the template it is where entries are rendered (`include` and
    /// `on_failure: { run: }` params); nil for other values, which are used as they are.
    public var template: TemplateString? {
        if case .string(let text) = value { TemplateString(text, at: location) } else { nil }
    }
}

/// Minimal JSON string escaping for values we emit ourselves.
public enum JSONText {
    public static func quote(_ s: String) -> String { escapes.apply(s, quote: "\"") }
    static let escapes = EscapeTable(["\"": "\\\"", "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"]) { scalar in
        scalar.value < 0x20 ? String(format: "\\u%04x", scalar.value) : nil
    }
}
