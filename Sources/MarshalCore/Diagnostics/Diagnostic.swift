/// One finding about an input file: where, how bad, and what was expected.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable { case error, warning, note }

    /// What kind of finding it is, for code that must tell findings apart (never their text).
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A template names nothing in scope (`{{ parms.x }}`).
        public static let undefinedName = Code(rawValue: "template.undefined-name")
        /// A template that does not parse (`{{ x`).
        public static let templateSyntax = Code(rawValue: "template.syntax")
        /// A filter applied to a secret, whose value must stay hidden.
        public static let filterOnSecret = Code(rawValue: "template.filter-on-secret")
        /// A filter that failed on its value.
        public static let templateFilter = Code(rawValue: "template.filter")
    }

    public var location: SourceLocation
    public var severity: Severity
    public var message: String
    /// Nil for findings nobody needs to tell apart from others.
    public var code: Code?

    public init(_ severity: Severity = .error, at location: SourceLocation, _ message: String, code: Code? = nil) {
        self.location = location
        self.severity = severity
        self.message = message
        self.code = code
    }

    public var description: String { "\(location): \(severity.rawValue): \(message)" }
}

/// Collects every finding of a pass, so validation reports all problems at once instead of the first.
public struct DiagnosticBag: Sendable {
    public private(set) var items: [Diagnostic] = []
    /// Findings reported per host, so the same problem on many hosts stays one line.
    private var perHost: [(message: String, location: SourceLocation, index: Int, hosts: [String])] = []

    public init() {}

    /// One problem found while rendering for `host`: the same message at the same place on other
    /// hosts becomes one finding naming them all ("… (hosts web1, web2)"), not a line per host.
    public mutating func error(_ message: String, at location: SourceLocation, host: String) {
        if let i = perHost.firstIndex(where: { $0.message == message && $0.location == location }) {
            if !perHost[i].hosts.contains(host) { perHost[i].hosts.append(host) }
            let hosts = perHost[i].hosts
            items[perHost[i].index].message = "\(message) (host\(hosts.count == 1 ? "" : "s") \(hosts.joined(separator: ", ")))"
        } else {
            perHost.append((message, location, items.count, [host]))
            items.append(Diagnostic(.error, at: location, "\(message) (host \(host))"))
        }
    }

    public mutating func error(_ message: String, at location: SourceLocation) {
        items.append(Diagnostic(.error, at: location, message))
    }

    public mutating func warning(_ message: String, at location: SourceLocation) {
        items.append(Diagnostic(.warning, at: location, message))
    }

    public mutating func append(_ diagnostic: Diagnostic) { items.append(diagnostic) }
    public mutating func append(contentsOf other: DiagnosticBag) { items.append(contentsOf: other.items) }
    public mutating func append(contentsOf other: [Diagnostic]) { items.append(contentsOf: other) }

    public var hasErrors: Bool { items.contains { $0.severity == .error } }

    /// Sorted by file, line, column so output is stable and reads top to bottom.
    public var sorted: [Diagnostic] {
        items.sorted {
            ($0.location.file, $0.location.line, $0.location.column) < ($1.location.file, $1.location.line, $1.location.column)
        }
    }
}

/// Thrown when a pass found input errors; carries all of them.
public struct DiagnosticsError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
