/// A 1-based position in an input file, carried by every decoded value so errors can point at it.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// Used for values that did not come from a file (command-line params, defaults).
    public static func synthetic(_ what: String) -> SourceLocation {
        SourceLocation(file: what, line: 0, column: 0)
    }

    /// The location `offset` characters to the right on the same line (for errors inside an expression).
    public func advanced(by offset: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column + offset)
    }

    public var description: String { "\(file):\(line):\(column)" }
}
