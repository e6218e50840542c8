/// A malformed expression, pointing at the exact column of the offending token.
public struct ExpressionError: Error, Sendable, Hashable, CustomStringConvertible {
    public let location: SourceLocation
    public let message: String

    public init(location: SourceLocation, message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): error: \(message)" }
}

/// Why a well-formed expression could not produce a value.
public enum EvaluationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A name or JSON path has no value. Callers treat this as inconclusive, never as a pass.
    case noData(String)
    /// Values of the wrong kind met, e.g. a string compared with a number.
    case typeMismatch(String)
    /// Anything else the data makes impossible (a bad regular expression, min of an empty list).
    case invalid(String)

    public var description: String {
        switch self {
        case .noData(let message): "no data: \(message)"
        case .typeMismatch(let message): "type mismatch: \(message)"
        case .invalid(let message): "invalid: \(message)"
        }
    }
}
