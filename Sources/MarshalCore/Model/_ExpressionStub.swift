// TEMPORARY: replaced by Sources/MarshalCore/Expressions when the expression branch merges.
public struct Expression: Sendable, Hashable, CustomStringConvertible {
    public let source: String
    public let location: SourceLocation
    public static func parse(_ text: String, at location: SourceLocation) throws(ExpressionError) -> Expression {
        Expression(source: text, location: location)
    }
    public static func parseCondition(subject: String, _ text: String, at location: SourceLocation) throws(ExpressionError) -> Expression {
        Expression(source: subject + " " + text, location: location)
    }
    public var names: Set<String> { [] }
    public var description: String { source }
}
public struct ExpressionError: Error, Sendable, Hashable, CustomStringConvertible {
    public let location: SourceLocation
    public let message: String
    public var description: String { message }
}
