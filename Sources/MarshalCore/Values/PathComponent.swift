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

    /// The problem with a path written with params in it (`/srv/{{ params.app }}`): a param's value
    /// must not hold `/` or be `.` or `..`. Params come from the command line; vars, from the
    /// environment file, are trusted to hold whole paths.
    public static func problemInParams(_ template: TemplateString, params: [String: ConfigValue]) -> String? {
        for piece in template.source.components(separatedBy: "{{").dropFirst() {
            guard let close = piece.range(of: "}}") else { continue }
            let head = piece[..<close.lowerBound].split(separator: "|").first?.trimmingCharacters(in: .whitespaces) ?? ""
            guard head.hasPrefix("params.") else { continue }
            let name = String(head.dropFirst("params.".count))
            guard let value = params[name]?.text else { continue }
            if value == "." || value == ".." || value.contains("/") {
                return "param '\(name)' is '\(value)', which would change the directory (a param in a path may not hold '/' or be '.' or '..')"
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
