/// Escaping declared as a table: each output language (psql meta-command values, curl config
/// strings, the expression language, JSON, XML attributes) lists the characters it rewrites next to
/// where it is used, and one loop applies it. The loop walks Unicode scalars, not characters, so a
/// CR LF pair is two rewrites rather than one unmatched grapheme passed through raw.
public struct EscapeTable: Sendable {
    public var replacements: [Unicode.Scalar: String]
    /// For scalars not in the table: their replacement, "" to drop them, nil to keep them.
    public var otherwise: @Sendable (Unicode.Scalar) -> String?

    public init(_ replacements: [Unicode.Scalar: String], otherwise: @escaping @Sendable (Unicode.Scalar) -> String? = { _ in nil }) {
        self.replacements = replacements
        self.otherwise = otherwise
    }

    /// `text` escaped, between `quote` marks.
    public func apply(_ text: String, quote: String = "") -> String {
        var out = quote
        out.reserveCapacity(text.utf8.count + 2 * quote.utf8.count)
        for scalar in text.unicodeScalars {
            if let replacement = replacements[scalar] ?? otherwise(scalar) {
                out += replacement
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out + quote
    }
}
