/// POSIX shell quoting: the result is read by `sh` as exactly one word with the same bytes.
public enum ShellQuote {
    /// Characters that never need quoting; anything else gets single quotes.
    private static let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")

    public static func quote(_ value: String) -> String {
        if !value.isEmpty, value.allSatisfy({ safe.contains($0) }) { return value }
        // 'it'\''s' — close the quote, emit an escaped quote, reopen.
        return "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
