import MarshalCore
import Testing

/// The one escaping function for text shown in a terminal, `show`, JSON and the journal.
@Suite("Control characters escaped")
struct ControlCharactersTests {
    @Test("ESC, BEL, NUL, DEL, C1 CSI and bidi overrides are shown as escapes; newline, tab, CRLF and Unicode text are kept")
    func escapes() {
        #expect(ControlCharacters.escape("\u{1B}]0;pwned\u{07}\u{1B}[2J") == "\\x1b]0;pwned\\x07\\x1b[2J")
        #expect(ControlCharacters.escape("a\u{0}b\u{7F}\u{9B}31m") == "a\\x00b\\x7f\\x9b31m")
        #expect(ControlCharacters.escape("name\u{202E}gpj.exe") == "name\\u{202e}gpj.exe")
        #expect(ControlCharacters.escape("line 1\r\nline 2\n\tindented é 💥") == "line 1\r\nline 2\n\tindented é 💥")
        #expect(ControlCharacters.escape("progress 10%\rprogress 20%") == "progress 10%\\x0dprogress 20%")
        #expect(ControlCharacters.escape("trailing\r") == "trailing\\x0d")
    }

    @Test("escaping twice changes nothing more: escaped text holds no control character")
    func idempotent() {
        let once = ControlCharacters.escape("\u{1B}[31mred\u{0}\u{202E}")
        #expect(ControlCharacters.escape(once) == once)
    }

    @Test("journal excerpts keep a NUL and what follows it, escaped")
    func excerptKeepsNUL() {
        #expect(OutputExcerpt.make(bytes: [0x61, 0x00, 0x62]) == "a\\x00b")
        #expect(OutputExcerpt.make(bytes: Array("x\u{1B}[2Jy".utf8)) == "x\\x1b[2Jy")
    }
}
