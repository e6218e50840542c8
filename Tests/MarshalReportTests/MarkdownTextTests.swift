import MarshalCore
import MarshalReport
import Testing

/// The report's one escaping function: text from hosts and servers cannot add markup to it.
@Suite("Markdown escaping")
struct MarkdownTextTests {
    @Test("HTML tags, emphasis, code, links, images and table pipes are inert; control characters escaped; lines joined")
    func inert() {
        #expect(MarkdownText.escape("<script>alert(1)</script><b>x</b>") == "&lt;script>alert(1)&lt;/script>&lt;b>x&lt;/b>")
        #expect(MarkdownText.escape("*a* _b_ `c` ~~d~~ a|b") == "\\*a\\* \\_b\\_ \\`c\\` \\~\\~d\\~\\~ a\\|b")
        #expect(MarkdownText.escape("[x](http://evil) ![i](src) [r][1] [d]: http://x") == "[x\\](http://evil) ![i\\](src) [r\\][1] [d\\]: http://x")
        #expect(MarkdownText.escape("&amp; &#60; <!-- c --> <?x> <http://a>") == "&amp;amp; &amp;#60; &lt;!-- c --> &lt;?x> &lt;http://a>")
        #expect(MarkdownText.escape("\u{1B}]8;;http://evil\u{1B}\\click") == #"\\x1b]8;;http://evil\\x1b\\click"#, "backslashes doubled so Markdown shows them")
        #expect(MarkdownText.escape("one\ntwo\r\nthree") == "one two three")
    }

    @Test("ordinary figures and expectations read as written")
    func plain() {
        for text in ["p95 < 500ms", "status in [200]", "1. warm-up", "a & b", "GET http://web1/api/health", "0.96 ms", "x > 3"] {
            #expect(MarkdownText.escape(text) == text)
        }
    }
}
