import Foundation

/// A value an expression computes with: the JSON data model, with numbers held as `Double`.
///
/// Quantities are normalised so they compare without units: durations in seconds, percentages as
/// fractions (`1%` is 0.01), sizes in bytes. Scopes must supply values in the same units.
public indirect enum ExprValue: Sendable, Hashable, CustomStringConvertible {
    case number(Double)
    case string(String)
    case bool(Bool)
    case null
    case array([ExprValue])
    case object([String: ExprValue])

    /// Truthiness for a bare value in `until`/`when`: false, null, 0, NaN, "" and empty collections are false.
    public var isTruthy: Bool {
        switch self {
        case .bool(let value): value
        case .number(let value): value != 0 && !value.isNaN
        case .string(let value): !value.isEmpty
        case .null: false
        case .array(let values): !values.isEmpty
        case .object(let values): !values.isEmpty
        }
    }

    /// JSON-like text: strings quoted, integral numbers without a decimal point, object keys sorted.
    public var description: String {
        switch self {
        case .number(let value): ExprValue.format(number: value)
        case .string(let value): ExprValue.quote(value)
        case .bool(let value): value ? "true" : "false"
        case .null: "null"
        case .array(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .object(let values):
            "{" + values.sorted { $0.key < $1.key }.map { "\(ExprValue.quote($0.key)): \($0.value.description)" }
                .joined(separator: ", ") + "}"
        }
    }

    /// The kind of value, as an operator would call it in an error message.
    var kindName: String {
        switch self {
        case .number: "number"
        case .string: "string"
        case .bool: "boolean"
        case .null: "null"
        case .array: "list"
        case .object: "object"
        }
    }

    static func format(number value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func quote(_ text: String) -> String { escapes.apply(text, quote: "\"") }
    static let escapes = EscapeTable(["\"": "\\\"", "\\": "\\\\", "\n": "\\n", "\t": "\\t"])
}

extension ExprValue {
    /// Decodes JSON text (any top-level value); nil when the bytes are not JSON.
    public static func fromJSON(_ data: some Collection<UInt8>) -> ExprValue? {
        try? JSONDecoder().decode(ExprValue.self, from: Data(data))
    }

    /// Converts the output of `JSONSerialization` (or similar `Any` trees); unknown leaves become strings.
    public static func fromJSONObject(_ any: Any) -> ExprValue {
        if type(of: any) == Bool.self, let flag = any as? Bool { return .bool(flag) }
        switch any {
        case is NSNull:
            return .null
        case let text as String:
            return .string(text)
        case let number as NSNumber:
            // Foundation hands JSON booleans back as NSNumber; only the boolean subclass's name tells
            // them apart from the integers 0 and 1 on Linux, where CFBooleanGetTypeID is unavailable.
            if String(describing: type(of: number)).contains("Boolean") { return .bool(number.boolValue) }
            return .number(number.doubleValue)
        case let values as [Any]:
            return .array(values.map(fromJSONObject))
        case let values as [String: Any]:
            return .object(values.mapValues(fromJSONObject))
        case let value as ExprValue:
            return value
        default:
            return .string(String(describing: any))
        }
    }
}

extension ExprValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let values = try? container.decode([ExprValue].self) {
            self = .array(values)
        } else {
            self = .object(try container.decode([String: ExprValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        case .array(let values): try container.encode(values)
        case .object(let values): try container.encode(values)
        }
    }
}
