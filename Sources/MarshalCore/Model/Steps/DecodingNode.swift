/// A value of a runbook file as the loader hands it to a step kind's decoder. MarshalLoading
/// implements it over Yams, so a kind decodes in Core without seeing YAML types. Every read is
/// positioned and reports its own error (naming `what`, file:line:column); nil means "reported".
public protocol DecodingNode {
    var location: SourceLocation { get }
    /// Where the value's text starts (after a quote), for columns inside a scalar.
    var contentStart: SourceLocation { get }
    /// The text of a scalar; nil for a mapping, list or alias.
    var scalarText: String? { get }
    /// What the value is, in words, for "expected X, found Y" messages.
    var described: String { get }
    func error(_ message: String, at location: SourceLocation)

    func mapping(_ what: String, declaration: ObjectShape?) -> (any DecodingMap)?
    func sequence(_ what: String) -> [any DecodingNode]?
    /// A list, or a single value read as a one-element list.
    func listOrSingle() -> [any DecodingNode]
    func string(_ what: String) -> String?
    func template(_ what: String) -> TemplateString?
    func int(_ what: String, min: Int?) -> Int?
    func number(_ what: String) -> Double?
    func bool(_ what: String) -> Bool?
    func duration(_ what: String) -> Duration?
    /// A value written as a template for a key that takes one (`wait: "{{ params.pause }}"`):
    /// kept on the step to be rendered when the run starts; true when it was one.
    func takeTemplate(as key: TemplatedField.Key) -> Bool
    func choice<T: RawRepresentable & CaseIterable>(_ what: String, as type: T.Type) -> T? where T.RawValue == String
    func expression(_ what: String) -> Expression?
    /// A threshold condition: `< 500ms` is read as `subject < 500ms`.
    func condition(subject: String, _ what: String) -> Expression?
    func configValue() -> ConfigValue
    func configEntries(_ what: String) -> [ConfigEntry]
    func targets(_ what: String) -> TargetSelector?
    /// A list of steps (a `soak`'s gates), decoded with the loader's registry.
    func steps(_ what: String) -> [Step]
}

/// One key of a mapping being decoded.
public struct DecodingEntry {
    public var key: String
    public var keyLocation: SourceLocation
    public var value: any DecodingNode
    public init(key: String, keyLocation: SourceLocation, value: any DecodingNode) {
        self.key = key
        self.keyLocation = keyLocation
        self.value = value
    }
}

/// A mapping being read. Every key asked for is remembered; the loader reports the keys nobody
/// asked for (and that the declaration does not list) as unknown.
public protocol DecodingMap: AnyObject {
    var location: SourceLocation { get }
    var value: any DecodingNode { get }
    var entries: [DecodingEntry] { get }
    /// The value of `key`, or nil (with an error naming the key when it is required).
    func node(_ key: String, required: Bool, expected: String) -> (any DecodingNode)?
    func keyLocation(_ key: String) -> SourceLocation?
    /// Keys accepted without being read here.
    func accept(_ keys: [String])
    /// Reports every key that no reader asked for.
    func finish()
}

extension DecodingMap {
    public func node(_ key: String, required: Bool = false) -> (any DecodingNode)? {
        node(key, required: required, expected: "")
    }
    public func string(_ key: String, required: Bool = false) -> String? {
        node(key, required: required).flatMap { $0.string("'\(key)'") }
    }
    public func template(_ key: String, required: Bool = false, expected: String = "") -> TemplateString? {
        node(key, required: required, expected: expected).flatMap { $0.template("'\(key)'") }
    }
    public func int(_ key: String, min: Int? = nil) -> Int? {
        node(key).flatMap { $0.int("'\(key)'", min: min) }
    }
    public func bool(_ key: String) -> Bool? {
        node(key).flatMap { $0.bool("'\(key)'") }
    }
    public func duration(_ key: String, required: Bool = false) -> Duration? {
        node(key, required: required).flatMap { $0.duration("'\(key)'") }
    }
    public func expression(_ key: String) -> Expression? {
        node(key).flatMap { $0.expression("'\(key)'") }
    }
    public func choice<T: RawRepresentable & CaseIterable>(_ key: String, as type: T.Type, required: Bool = false) -> T? where T.RawValue == String {
        node(key, required: required).flatMap { $0.choice("'\(key)'", as: type) }
    }
    public func error(_ message: String, at location: SourceLocation) { value.error(message, at: location) }
    /// Where `key` is written, or the mapping itself.
    public func at(_ key: String) -> SourceLocation { keyLocation(key) ?? location }
}

extension DecodingNode {
    public func takeTemplate(as key: TemplatedField.Key) -> Bool { false }
    public func int(_ what: String) -> Int? { int(what, min: nil) }
    public func mapping(_ what: String) -> (any DecodingMap)? { mapping(what, declaration: nil) }
}
