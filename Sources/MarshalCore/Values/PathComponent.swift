/// A name that becomes one directory entry on a host (a release id, a value from a param inside a
/// path): never `/`, `.` or `..`, so it cannot climb out of the directory it is meant for.
public enum PathComponent {
    /// The documented character set: ASCII letters and digits first, then also `.`, `_`, `-`, `+`;
    /// at most 128 characters.
    public static let rule = "a release id (and a param inside a path) starts with an ASCII letter or digit and uses letters, digits, '.', '_', '-' and '+' only (at most 128 characters)"

    /// Why `text` is not a valid component, or nil when it is.
    public static func problem(_ text: String) -> String? {
        if text.isEmpty { return "it is empty" }
        if text == "." || text == ".." { return "'\(text)' names a directory other than its own" }
        if text.contains("/") { return "'\(text)' contains '/'" }
        if text.count > 128 { return "it is \(text.count) characters long" }
        guard let first = text.unicodeScalars.first, first.isASCIILetterOrDigit,
              text.unicodeScalars.allSatisfy({ $0.isASCIILetterOrDigit || "._-+".unicodeScalars.contains($0) }) else {
            return "'\(text)' has characters outside the allowed set"
        }
        return nil
    }

    /// The problem with a rendered path: each value placed in it (param, var, step output) must be
    /// a whole component or a plain part of one; literal text written by the author may hold `/`.
    public static func problemInValues(_ rendered: RenderedText) -> String? {
        for fragment in rendered.fragments {
            switch fragment {
            case .quoted(let value), .raw(let value):
                if value == "." || value == ".." || value.contains("/") { return "the value '\(value)' in it would change the directory (values may not hold '/', '.' or '..')" }
            case .literal, .secret:
                continue
            }
        }
        return nil
    }
}

extension Unicode.Scalar {
    var isASCIILetterOrDigit: Bool {
        ("a"..."z").contains(self) || ("A"..."Z").contains(self) || ("0"..."9").contains(self)
    }
}
