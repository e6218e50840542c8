@testable import MarshalHTTP
import Testing

/// The load generator's response parser held against the kinds of response in nodejs/llhttp's
/// `test/response/*.md` corpus, each written anew here as a vector: what llhttp in strict mode
/// refuses is refused, what it accepts ends at the same byte. Every vector is also fed split at
/// every byte, since the outcome must not depend on how the bytes arrive.
/// Deliberate differences, each noted on its vector: a bare LF ends a line (RFC 9112 §2.2 allows
/// it; curl and k6 accept it), and RTSP/ICE/HTTP 0.9/2.0 status lines are refused (an HTTP/1.1
/// request cannot get them as an answer).
@Suite("Response parser, llhttp corpus vectors")
struct ResponseCorpusTests {
    enum Expect: CustomStringConvertible {
        /// A complete response ending `leftover` bytes before the end of the input.
        case complete(status: Int, keepAlive: Bool, leftover: Int = 0)
        /// Read until the server closes, then complete with this status.
        case untilClose(status: Int)
        /// Refused; the reason contains this text.
        case refused(String)

        var description: String {
            switch self {
            case .complete(let s, let k, let l): "complete \(s) keepAlive=\(k) leftover=\(l)"
            case .untilClose(let s): "until close \(s)"
            case .refused(let why): "refused: \(why)"
            }
        }
    }

    struct Vector: CustomTestStringConvertible, Sendable {
        let name: String
        let raw: String
        let expect: Expect
        var bodiless = false
        var testDescription: String { name }
    }

    /// `raw` uses "\r\n" explicitly: the corpus's bare-LF and bare-CR cases are the point.
    static let vectors: [Vector] = [
        // invalid.md
        Vector(name: "protocol name misspelt", raw: "HTP/1.1 200 OK\r\n\r\n", expect: .refused("not an HTTP/1.x status line")),
        Vector(name: "two-digit major version", raw: "HTTP/01.1 200 OK\r\n\r\n", expect: .refused("not an HTTP/1.x status line")),
        Vector(name: "major version 11", raw: "HTTP/11.1 200 OK\r\n\r\n", expect: .refused("not an HTTP/1.x status line")),
        Vector(name: "two-digit minor version", raw: "HTTP/1.01 200 OK\r\n\r\n", expect: .refused("not an HTTP/1.x status line")),
        Vector(name: "tab instead of space after the version", raw: "HTTP/1.1\t200 OK\r\n\r\n", expect: .refused("not an HTTP/1.x status line")),
        Vector(name: "leading CR, then a tab after the version", raw: "\rHTTP/1.1\t200 OK\r\n\r\n", expect: .refused("not an HTTP/1.x status line")),
        Vector(name: "two headers separated by a bare CR", raw: "HTTP/1.1 200 OK\r\nX-One: 1\rX-Two: 2\r\n\r\n", expect: .refused("CR not followed by LF in a header line")),
        Vector(name: "bare CR after the status line", raw: "HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n", expect: .refused("CR not followed by LF in the status line")),
        Vector(name: "CR CR after the status line, smuggling a body", raw: "HTTP/1.1 200 OK\r\rContent-Length: 4\r\n\r\nEvil", expect: .refused("CR not followed by LF in the status line")),
        Vector(name: "version 5.6", raw: "HTTP/5.6 200 OK\r\n\r\n", expect: .refused("HTTP version other than 1.0 or 1.1")),
        Vector(name: "whitespace starting the first header line", raw: "HTTP/1.1 200 OK\r\n X-Host: a\r\n\r\n", expect: .refused("starting with whitespace")),
        Vector(name: "two spaces before the status code", raw: "HTTP/1.1  200 OK\r\n\r\n", expect: .refused("not an HTTP/1.x status line")),
        Vector(name: "two spaces before the reason: the reason starts with a space", raw: "HTTP/1.1 200  OK\r\n\r\n", expect: .untilClose(status: 200)),
        Vector(name: "one-digit status code", raw: "HTTP/1.1 2 OK\r\n\r\n", expect: .refused("not an HTTP/1.x status line")),
        Vector(name: "four-digit status code", raw: "HTTP/1.1 2000 OK\r\n\r\n", expect: .refused("not an HTTP/1.x status line")),
        // Deliberate leniency (llhttp refuses without its lenient flag): bare LF line ends.
        Vector(name: "only LFs, no body", raw: "HTTP/1.1 200 OK\nContent-Length: 0\n\n", expect: .complete(status: 200, keepAlive: true)),
        Vector(name: "only LFs, body until close", raw: "HTTP/1.1 200 OK\nX-A: abc\nX-B: def\n\nBODY\n", expect: .untilClose(status: 200)),

        // content-length.md
        Vector(name: "no length, Connection: close, body until close",
               raw: "HTTP/1.1 200 OK\r\nServer: Test\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n<?xml version=\"1.0\"?>\n<a>\n</a>", expect: .untilClose(status: 200)),
        Vector(name: "a header named Content-Length-Extra is not Content-Length",
               raw: "HTTP/1.1 200 OK\r\nContent-Length-Extra: 0\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n", expect: .complete(status: 200, keepAlive: true)),
        Vector(name: "answer to HEAD: Content-Length is not a body, the next response follows",
               raw: "HTTP/1.1 200 OK\r\nContent-Length: 321\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 654\r\n\r\n", expect: .complete(status: 200, keepAlive: true, leftover: 40), bodiless: true),
        Vector(name: "tabs around the Content-Length value", raw: "HTTP/1.1 200 OK\r\nContent-Length:\t3\t\r\n\r\nabc", expect: .complete(status: 200, keepAlive: true)),
        Vector(name: "two Content-Length headers", raw: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", expect: .refused("more than one Content-Length")),
        Vector(name: "Content-Length with Transfer-Encoding", raw: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", expect: .refused("both Content-Length and Transfer-Encoding")),

        // transfer-encoding.md
        Vector(name: "spaces after a chunk size", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1A  \r\n" + String(repeating: "x", count: 26) + "\r\n0  \r\n\r\n",
               expect: .refused("chunk size that is not hexadecimal")),
        Vector(name: "chunked, then another coding: body until close", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, deflate\r\n\r\nWorld", expect: .untilClose(status: 200)),
        Vector(name: "a second Transfer-Encoding header not ending in chunked", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\nWorld", expect: .untilClose(status: 200)),
        Vector(name: "chunkedchunked is not chunked", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunkedchunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n", expect: .untilClose(status: 200)),
        Vector(name: "chunk extensions, names alone and with values",
               raw: "HTTP/1.1 200 OK\r\nTransfer-encoding: chunked\r\n\r\n5;first;second=value-2\r\nhello\r\n6;a;b\r\n world\r\n0\r\n\r\n", expect: .complete(status: 200, keepAlive: true)),
        Vector(name: "no semicolon before a chunk extension", raw: "HTTP/1.1 200 OK\r\nTransfer-encoding: chunked\r\n\r\n2 extension\r\naa\r\n0 more\r\n\r\n", expect: .refused("chunk size that is not hexadecimal")),
        Vector(name: "semicolon and no extension", raw: "HTTP/1.1 200 OK\r\nTransfer-encoding: chunked\r\n\r\n2;\r\naa\r\n0\r\n\r\n", expect: .refused("chunk extension without a name")),
        Vector(name: "quoted extension values holding ; and escapes",
               raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"x; y\";b=\"q\\\"q\";c;d=e\r\nhello\r\n0\r\n\r\n", expect: .complete(status: 200, keepAlive: true)),
        Vector(name: "unbalanced quote in an extension value", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"x\";b=\"y; z\r\nhello\r\n0\r\n\r\n", expect: .refused("unterminated quoted chunk extension")),
        Vector(name: "a folded line after Transfer-Encoding", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n  abc\r\n\r\n5\r\nWorld\r\n0\r\n\r\n", expect: .refused("obsolete line folding")),
        Vector(name: "bare CR after a chunk size", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\rab\r\n0\r\n\r\n", expect: .refused("CR not followed by LF after a chunk size")),
        Vector(name: "bare CR in a trailer", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\rX-U: 2\r\n\r\n", expect: .refused("CR not followed by LF in the trailer")),

        // sample.md
        Vector(name: "headers with tabs and spaces in values", raw: "HTTP/1.1 200 OK\r\nH1: V1\r\nH2:\t V2\r\nContent-Length: 0\r\n\r\n", expect: .complete(status: 200, keepAlive: true)),
        Vector(name: "RTSP status line (refused: not an answer to HTTP)", raw: "RTSP/1.1 200 OK\r\n\r\n", expect: .refused("not an HTTP/1.x status line")),
        Vector(name: "ICE status line (refused: not an answer to HTTP)", raw: "ICE/1.1 200 OK\r\n\r\n", expect: .refused("not an HTTP/1.x status line")),
        Vector(name: "HTTPER is not HTTP", raw: "HTTPER/1.1 200 OK\r\n\r\n", expect: .refused("not an HTTP/1.x status line")),
        Vector(name: "redirect with $ in a header name and spaces around the length",
               raw: "HTTP/1.1 301 Moved Permanently\r\nLocation: http://example.com/\r\nX-$Proto-Version: 1.6\r\nContent-Length:  5  \r\n\r\nmoved", expect: .complete(status: 301, keepAlive: true)),
        Vector(name: "chunked body that is a single LF", raw: "HTTP/1.1 301 MovedPermanently\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n\n\r\n0\r\n\r\n", expect: .complete(status: 301, keepAlive: true)),
        Vector(name: "no headers, no length", raw: "HTTP/1.1 404 Not Found\r\n\r\n", expect: .untilClose(status: 404)),
        Vector(name: "no reason phrase", raw: "HTTP/1.1 301\r\n\r\n", expect: .untilClose(status: 301)),
        Vector(name: "empty reason phrase after a space", raw: "HTTP/1.1 200 \r\n\r\n", expect: .untilClose(status: 200)),
        Vector(name: "underscore and semicolons in a header", raw: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX_Imp: v7;x;1;;~okv=;dcmt=text/xml;;\r\n\r\n", expect: .complete(status: 200, keepAlive: true)),
        Vector(name: "an empty header value followed by another header", raw: "HTTP/1.0 301 Moved\r\nPragma: \r\nLocation: /x\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", expect: .complete(status: 301, keepAlive: true)),
        Vector(name: "odd header names are tokens", raw: "HTTP/1.1 200 OK\r\n.et-Cookie: a=b\r\n_onnection: Keep-Alive\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n", expect: .complete(status: 200, keepAlive: false)),
        Vector(name: "space inside a header name", raw: "HTTP/1.1 200 OK\r\nen-US Content-Type: text/xml\r\nContent-Length: 2\r\n\r\nok", expect: .refused("header name that is not a token")),
        Vector(name: "space before the colon", raw: "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok", expect: .refused("header name that is not a token")),
        Vector(name: "non-ASCII reason phrase", raw: "HTTP/1.1 500 Oriëntatieprobleem\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", expect: .complete(status: 500, keepAlive: false)),
        Vector(name: "HTTP/0.9 status line (refused: llhttp takes it)", raw: "HTTP/0.9 200 OK\r\n\r\n", expect: .refused("HTTP version other than 1.0 or 1.1")),
        Vector(name: "response starting with CRLF", raw: "\r\nHTTP/1.1 200 OK\r\nH1: V1\r\nContent-Length: 0\r\n\r\n", expect: .complete(status: 200, keepAlive: true)),
        Vector(name: "NUL in a header value", raw: "HTTP/1.1 200 OK\r\nX-A: a\u{0}b\r\nContent-Length: 0\r\n\r\n", expect: .refused("control character")),
        Vector(name: "ESC in a header value", raw: "HTTP/1.1 200 OK\r\nX-A: \u{1B}[2J\r\nContent-Length: 0\r\n\r\n", expect: .refused("control character")),

        // connection.md
        Vector(name: "Proxy-Connection: close is not Connection", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nProxy-Connection: close\r\n\r\nhello", expect: .complete(status: 200, keepAlive: true)),
        Vector(name: "HTTP/1.0 keep-alive without a length reads until close", raw: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nHTTP/1.0 200 OK", expect: .untilClose(status: 200)),
        Vector(name: "HTTP/1.0 keep-alive 204 ends at its head", raw: "HTTP/1.0 204 No content\r\nConnection: keep-alive\r\n\r\nHTTP/1.0 200 OK", expect: .complete(status: 204, keepAlive: true, leftover: 15)),
        Vector(name: "HTTP/1.1 without a length reads until close", raw: "HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200 OK", expect: .untilClose(status: 200)),
        Vector(name: "HTTP/1.1 204 ends at its head", raw: "HTTP/1.1 204 No content\r\n\r\nHTTP/1.1 200 OK", expect: .complete(status: 204, keepAlive: true, leftover: 15)),
        Vector(name: "204 with Connection: close, then data: the data is left for the caller to refuse",
               raw: "HTTP/1.1 204 No content\r\nConnection: close\r\n\r\nHTTP/1.1 200 OK", expect: .complete(status: 204, keepAlive: false, leftover: 15)),
        Vector(name: "Content-Length with Connection: close, then data", raw: "HTTP/1.1 200 No content\r\nContent-Length: 5\r\nConnection: close\r\n\r\n2ad73extra", expect: .complete(status: 200, keepAlive: false, leftover: 5)),
        Vector(name: "101 with Content-Length: the head ends HTTP", raw: "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: h2c\r\nContent-Length: 4\r\n\r\nbodyproto", expect: .complete(status: 101, keepAlive: false, leftover: 9)),
        Vector(name: "200 with Upgrade and no length reads until close", raw: "HTTP/1.1 200 OK\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\nbody", expect: .untilClose(status: 200)),
        Vector(name: "200 with Upgrade and chunked", raw: "HTTP/1.1 200 OK\r\nConnection: upgrade\r\nUpgrade: h2c\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nbo\r\n2\r\ndy\r\n0\r\n\r\n", expect: .complete(status: 200, keepAlive: true)),
        Vector(name: "304 with Content-Length has no body", raw: "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\n", expect: .complete(status: 304, keepAlive: true, leftover: 17)),
        Vector(name: "304 with chunked has no body", raw: "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 200 OK\r\n", expect: .complete(status: 304, keepAlive: true, leftover: 17)),
        Vector(name: "100 first, then 404", raw: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 14\r\n\r\n404: Not Found", expect: .complete(status: 404, keepAlive: true)),
        Vector(name: "103 with a Link header first, then 200", raw: "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", expect: .complete(status: 200, keepAlive: true)),

        // pipelining.md: the first of three responses ends where the second begins.
        Vector(name: "pipelined responses", raw: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nAAA\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\nBBBB", expect: .complete(status: 200, keepAlive: true, leftover: 49)),
        // finish.md
        Vector(name: "an empty response ended by close", raw: "HTTP/1.1 200 OK\r\n\r\n", expect: .untilClose(status: 200)),
    ]

    /// Feeds `bytes` in two pieces cut at `cut` (0: whole) and, for a close-delimited body, the close.
    private func outcome(_ v: Vector, cut: Int) -> (ResponseParser.Outcome, end: Int, closed: Bool) {
        var parser = ResponseParser()
        parser.reset(bodiless: v.bodiless)
        let bytes = Array(v.raw.utf8)
        var start = 0
        for end in [cut, bytes.count] where end > start {
            let result = bytes[start..<end].withUnsafeBytes { parser.feed($0) }
            if case .complete(_, _, let consumed) = result { return (result, start + consumed, false) }
            if case .malformed = result { return (result, 0, false) }
            start = end
        }
        return (parser.endOfStream(), bytes.count, true)
    }

    private func holds(_ v: Vector, _ result: (ResponseParser.Outcome, end: Int, closed: Bool)) -> Bool {
        let length = v.raw.utf8.count
        switch (v.expect, result.0) {
        case (.complete(let s, let k, let leftover), .complete(let status, let keepAlive, _)):
            return !result.closed && status == s && keepAlive == k && result.end == length - leftover
        case (.untilClose(let s), .complete(let status, let keepAlive, _)):
            return result.closed && status == s && !keepAlive
        case (.refused(let text), .malformed(let why)):
            return why.contains(text)
        default:
            return false
        }
    }

    @Test("Each corpus vector, whole and split at every byte", arguments: vectors)
    func vector(_ v: Vector) {
        for cut in 0...v.raw.utf8.count {
            let result = outcome(v, cut: cut)
            #expect(holds(v, result), "expected \(v.expect), got \(result.0) ending at \(result.end) (cut \(cut))")
        }
    }

    /// On a kept-open connection nothing more arrives after the bare CR: the answer must be refused
    /// from the bytes in hand, not waited on until the request times out.
    @Test("A bare CR is refused as soon as the byte after it arrives, without the blank line")
    func bareCRWithoutBlankLine() {
        var parser = ResponseParser()
        parser.reset(bodiless: false)
        let bytes = Array("HTTP/1.1 200 OK\rContent-Length: 0\r\n".utf8)
        let result = bytes.withUnsafeBytes { parser.feed($0) }
        guard case .malformed(let why) = result else {
            Issue.record("expected a refusal, got \(result)")
            return
        }
        #expect(why.contains("CR not followed by LF"))
    }
}
