/// Where an environment's history and lock live (`state:`): a folder (the embedded SQLite journal)
/// or a `postgres://` URL (the shared store), written in the file or read from a variable so that
/// a password never sits in a file.
public enum StateSource: Sendable, Hashable {
    /// `state: .marshal/prod` or `state: postgresql://marshal@db.internal/marshal` (no password).
    case literal(String)
    /// `state: { env: MARSHAL_STATE_URL }`: the variable holds a folder or a URL.
    case environmentVariable(String)

    /// True for `postgres://` and `postgresql://` URLs.
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// True when a URL carries a password in its user-info (`user:password@`).
    public static func urlHasPassword(_ text: String) -> Bool {
        guard isURL(text), let schemeEnd = text.range(of: "://") else { return false }
        let rest = text[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        guard let at = authority.lastIndex(of: "@") else { return false }
        return authority[..<at].contains(":")
    }
}
