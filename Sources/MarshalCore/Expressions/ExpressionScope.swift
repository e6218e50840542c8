/// Where an expression finds the values of its names and the document `$` refers to.
public protocol ExpressionScope: Sendable {
    /// The value of a plain name such as `p95` or `steps.backup.size`; nil means there is no data.
    func value(of name: String) -> ExprValue?
    /// What `$` refers to (usually a JSON response body); nil means there is no document.
    var document: ExprValue? { get }
    /// Why `name` has no value, when the scope knows (a missing baseline); nil otherwise.
    func whyNoData(_ name: String) -> String?
}

extension ExpressionScope {
    public func whyNoData(_ name: String) -> String? { nil }
}

/// A scope backed by a dictionary, for tests and for callers that gather values up front.
public struct DictionaryScope: ExpressionScope {
    public var values: [String: ExprValue]
    public var document: ExprValue?

    public init(_ values: [String: ExprValue] = [:], document: ExprValue? = nil) {
        self.values = values
        self.document = document
    }

    public func value(of name: String) -> ExprValue? { values[name] }
}
