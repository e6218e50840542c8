/// Bounded excerpts of command output for the journal: the head and the tail, with the middle counted.
public enum OutputExcerpt {
    public static let defaultHead = 4096
    public static let defaultTail = 4096

    /// The whole output when it fits in `head + tail` bytes; otherwise its first `head` and last `tail`
    /// bytes joined by `… N bytes omitted …`. Cuts move to UTF-8 character boundaries so no character is
    /// split; invalid bytes decode as U+FFFD. Control characters are escaped (`ControlCharacters`):
    /// the journal keeps a NUL as `\x00` instead of ending the text there, and nothing read back
    /// from it can drive a terminal.
    public static func make(bytes: [UInt8], head: Int = defaultHead, tail: Int = defaultTail) -> String {
        ControlCharacters.escape(cut(bytes: bytes, head: head, tail: tail))
    }

    private static func cut(bytes: [UInt8], head: Int, tail: Int) -> String {
        let head = max(0, head)
        let tail = max(0, tail)
        guard bytes.count > head + tail else { return String(decoding: bytes, as: UTF8.self) }

        // A cut on a continuation byte (10xxxxxx) would split a character: move it, by at most 3 bytes (the
        // longest UTF-8 tail), so that binary output full of such bytes still keeps its excerpt.
        var headEnd = head
        while headEnd > 0, head - headEnd < 3, isContinuation(bytes[headEnd]) { headEnd -= 1 }
        if isContinuation(bytes[headEnd]) { headEnd = head }
        var tailStart = bytes.count - tail
        while tailStart < bytes.count, tailStart - (bytes.count - tail) < 3, isContinuation(bytes[tailStart]) {
            tailStart += 1
        }
        if tailStart < bytes.count, isContinuation(bytes[tailStart]) { tailStart = bytes.count - tail }

        let omitted = tailStart - headEnd
        let marker = "\n… \(omitted) bytes omitted …\n"
        return String(decoding: bytes[..<headEnd], as: UTF8.self) + marker
            + String(decoding: bytes[tailStart...], as: UTF8.self)
    }

    private static func isContinuation(_ byte: UInt8) -> Bool { byte & 0b1100_0000 == 0b1000_0000 }
}
