/// Where an expression finds the values of its names and the document `$` refers to.
public protocol ExpressionScope: Sendable {
    /// The value of a plain name such as `p95` or `steps.backup.size`; nil means there is no data.
    func value(of name: String) -> ExprValue?
    /// What `$` refers to (usually a JSON response body); nil means there is no document.
    var document: ExprValue? { get }
    /// Why `name` has no value, when the scope knows (a missing baseline); nil otherwise.
    func whyNoData(_ name: String) -> String?
    /// A named value at the start and end of the gate's window (`over:`), for `delta(x)` and
    /// `rate(x)`; nil when the gate has no window or did not measure `name` at both ends.
    func window(of name: String) -> WindowedValue?
}

extension ExpressionScope {
    public func whyNoData(_ name: String) -> String? { nil }
    public func window(of name: String) -> WindowedValue? { nil }
}

/// One value sampled at both ends of a window.
public struct WindowedValue: Sendable, Hashable {
    public var start: Double
    public var end: Double
    /// The window's length in seconds.
    public var seconds: Double
    public init(start: Double, end: Double, seconds: Double) {
        self.start = start
        self.end = end
        self.seconds = seconds
    }
    public var delta: Double { end - start }
    /// Change per second; nil for a window of no length.
    public var rate: Double? { seconds > 0 ? delta / seconds : nil }
}

/// A scope backed by a dictionary, for tests and for callers that gather values up front.
public struct DictionaryScope: ExpressionScope {
    public var values: [String: ExprValue]
    public var document: ExprValue?
    public var windows: [String: WindowedValue]

    public init(_ values: [String: ExprValue] = [:], document: ExprValue? = nil, windows: [String: WindowedValue] = [:]) {
        self.values = values
        self.document = document
        self.windows = windows
    }

    public func value(of name: String) -> ExprValue? { values[name] }
    public func window(of name: String) -> WindowedValue? { windows[name] }
}
