@testable import MarshalHTTP
import MarshalTestSupport
import Testing

/// The load generator's HTTP/1.1 response reader: it must find where each response ends however
/// the bytes are split, or the next request on the connection would read the wrong answer.
@Suite("Response parser")
struct ResponseParserTests {
    /// Feeds `text` split at `cut` (and as a whole) and returns the outcome after the last piece.
    private func parse(_ text: String, cut: Int? = nil, bodiless: Bool = false) -> ResponseParser.Outcome {
        var parser = ResponseParser()
        parser.reset(bodiless: bodiless)
        let bytes = Array(text.utf8)
        let pieces = cut.map { [Array(bytes[..<$0]), Array(bytes[$0...])] } ?? [bytes]
        var last = ResponseParser.Outcome.needMore
        for piece in pieces where !piece.isEmpty {
            last = piece.withUnsafeBytes { parser.feed($0) }
            if last != .needMore { break }
        }
        return last
    }

    private func everySplit(_ text: String, bodiless: Bool = false, expect: (ResponseParser.Outcome, Int) -> Bool) {
        for cut in 0...text.utf8.count {
            let outcome = parse(text, cut: cut, bodiless: bodiless)
            #expect(expect(outcome, cut), "split at \(cut): \(outcome)")
        }
    }

    /// The outcome says complete with this status and keep-alive, and the last piece was used up to its end.
    private func isComplete(_ outcome: ResponseParser.Outcome, _ status: Int, keepAlive: Bool, text: String, cut: Int) -> Bool {
        let lastPiece = cut == text.utf8.count || cut == 0 ? text.utf8.count : text.utf8.count - cut
        return outcome == .complete(status: status, keepAlive: keepAlive, consumed: lastPiece)
    }

    @Test("Content-Length: complete at the last body byte wherever the stream is split")
    func contentLength() {
        let text = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello"
        everySplit(text) { isComplete($0, 200, keepAlive: true, text: text, cut: $1) }
        #expect(parse(String(text.dropLast())) == .needMore)
    }

    @Test("Chunked with extensions and a trailer: complete after the final blank line, at any split")
    func chunked() {
        let text = "HTTP/1.1 201 Created\r\ntransfer-encoding: gzip, Chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: done\r\n\r\n"
        everySplit(text) { isComplete($0, 201, keepAlive: true, text: text, cut: $1) }
        #expect(parse(String(text.dropLast(2))) == .needMore)
    }

    @Test("HEAD, 204 and 304 have no body whatever Content-Length says")
    func bodiless() {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
        #expect(parse(head, bodiless: true) == .complete(status: 200, keepAlive: true, consumed: head.utf8.count))
        #expect(parse(head) == .needMore)
        let noContent = "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n"
        #expect(parse(noContent) == .complete(status: 204, keepAlive: true, consumed: noContent.utf8.count))
        let notModified = "HTTP/1.1 304 Not Modified\r\n\r\n"
        #expect(parse(notModified) == .complete(status: 304, keepAlive: true, consumed: notModified.utf8.count))
    }

    @Test("A 100 Continue before the answer is passed over, in one piece or split")
    func interim() {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        everySplit(text) { isComplete($0, 200, keepAlive: true, text: text, cut: $1) }
    }

    @Test("Without a length the body ends when the server closes, and the connection is not reused")
    func closeDelimited() {
        var parser = ResponseParser()
        parser.reset(bodiless: false)
        let head = Array("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsome body".utf8)
        #expect(head.withUnsafeBytes { parser.feed($0) } == .needMore)
        #expect(parser.endOfStream() == .complete(status: 200, keepAlive: false, consumed: 0))
    }

    @Test("Keep-alive follows the version and the Connection header")
    func keepAlive() {
        #expect(parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n") == .complete(status: 200, keepAlive: false, consumed: 57))
        #expect(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n") == .complete(status: 200, keepAlive: false, consumed: 38))
        #expect(parse("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n") == .complete(status: 200, keepAlive: true, consumed: 62))
        #expect(parse("HTTP/1.1 503 Service Unavailable\nContent-Length: 0\n\n") == .complete(status: 503, keepAlive: true, consumed: 52))
    }

    @Test("Malformed answers are refused with what was wrong, never taken for a response")
    func malformed() {
        func problem(_ text: String) -> String? {
            if case .malformed(let why) = parse(text) { return why }
            return nil
        }
        #expect(problem("HELLO THERE\r\n\r\n")?.contains("not an HTTP/1.x status line") == true)
        #expect(problem("HTTP/1.1 2x0 OK\r\n\r\n")?.contains("status line") == true)
        #expect(problem("HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n")?.contains("Content-Length is not a number") == true)
        #expect(problem("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") == "more than one Content-Length")
        #expect(problem("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n")?.contains("without a colon") == true)
        #expect(problem("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")?.hasPrefix("a chunk size that is not hexadecimal") == true)
        #expect(problem("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n") == "chunk data longer than its size")
        let huge = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Filler: 0123456789012345678901234567890123456789\r\n", count: 1400)
        #expect(problem(huge)?.contains("response head over") == true)
    }

    @Test("A close before the end of the response is an error, not a short success")
    func earlyClose() {
        var parser = ResponseParser()
        parser.reset(bodiless: false)
        #expect(parser.endOfStream() == .malformed("the connection closed before any response arrived"))
        let partial = Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".utf8)
        #expect(partial.withUnsafeBytes { parser.feed($0) } == .needMore)
        #expect(parser.started)
        #expect(parser.endOfStream() == .malformed("the connection closed in the middle of the response"))
    }

    @Test("Bytes after the response are left unconsumed, so the caller can refuse the connection")
    func trailingBytes() {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"
        #expect(parse(text) == .complete(status: 200, keepAlive: true, consumed: text.utf8.count - 5))
    }
}

@Suite("Request bytes")
struct WireRequestTests {
    private func text(_ r: WireRequest) -> String { String(decoding: r.bytes, as: UTF8.self) }

    @Test("GET carries Host (with a non-default port), Accept and the path with its query")
    func get() throws {
        let r = try WireRequest(url: "http://127.0.0.1:8080/api/items?page=2&q=a%20b#frag", method: "get", headers: [], body: [])
        #expect(text(r) == "GET /api/items?page=2&q=a%20b HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept: */*\r\n\r\n")
        let plain = try WireRequest(url: "https://example.com", method: "GET", headers: [], body: [])
        #expect(text(plain) == "GET / HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n")
        let defaultPort = try WireRequest(url: "http://example.com:80/x", method: "GET", headers: [], body: [])
        #expect(text(defaultPort) == "GET /x HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n")
        let ipv6 = try WireRequest(url: "http://[::1]:8080/v6", method: "GET", headers: [], body: [])
        #expect(text(ipv6) == "GET /v6 HTTP/1.1\r\nHost: [::1]:8080\r\nAccept: */*\r\n\r\n")
    }

    @Test("POST carries the scenario's headers, a Content-Length and the body; given headers replace defaults")
    func post() throws {
        let body = Array(#"{"a":1}"#.utf8)
        let r = try WireRequest(url: "http://h:81/p", method: "POST",
                                headers: [("Content-Type", "application/json"), ("accept", "application/json"), ("Content-Length", "999")], body: body)
        #expect(text(r) == "POST /p HTTP/1.1\r\nHost: h:81\r\nContent-Type: application/json\r\naccept: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}")
        #expect(!r.bodiless)
        let empty = try WireRequest(url: "http://h/p", method: "PUT", headers: [("Host", "other")], body: [])
        #expect(text(empty) == "PUT /p HTTP/1.1\r\nAccept: */*\r\nHost: other\r\nContent-Length: 0\r\n\r\n")
    }

    @Test("user:password in the URL becomes HTTP Basic, as libcurl would send it; an Authorization header given wins")
    func basicAuth() throws {
        let r = try WireRequest(url: "http://ops%40corp:s%3Acret@h/p", method: "GET", headers: [], body: [])
        #expect(text(r) == "GET /p HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nAuthorization: Basic b3BzQGNvcnA6czpjcmV0\r\n\r\n")
        let given = try WireRequest(url: "http://u:p@h/p", method: "GET", headers: [("Authorization", "Bearer t")], body: [])
        #expect(text(given) == "GET /p HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nAuthorization: Bearer t\r\n\r\n")
    }

    @Test("HEAD expects no body; DELETE without a body sends no Content-Length")
    func headAndDelete() throws {
        #expect(try WireRequest(url: "http://h/", method: "HEAD", headers: [], body: []).bodiless)
        #expect(text(try WireRequest(url: "http://h/r", method: "DELETE", headers: [], body: [])) == "DELETE /r HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n")
    }

    @Test("A URL libcurl cannot parse is refused with the URL masked")
    func badURL() {
        #expect {
            _ = try WireRequest(url: "http://u:secret@[::1/x", method: "GET", headers: [], body: [])
        } throws: { error in
            guard let failure = error as? CurlFailure else { return false }
            return failure.message.contains("not a valid URL") && !failure.message.contains("secret")
        }
    }
}

/// Random responses, valid and mutated, fed whole and split at random points: the parser never
/// traps, and where a response ends (or why it is refused) does not depend on how the bytes came.
@Suite("Response parser, randomized")
struct ResponseParserFuzzTests {
    enum Result: Equatable {
        case needMore
        case complete(status: Int, keepAlive: Bool, end: Int)
        case malformed(String)
    }

    func parse(_ bytes: [UInt8], cuts: [Int], bodiless: Bool) -> Result {
        var parser = ResponseParser()
        parser.reset(bodiless: bodiless)
        var start = 0
        for end in cuts + [bytes.count] where end > start || end == bytes.count {
            let piece = Array(bytes[start..<end])
            let outcome = piece.withUnsafeBytes { parser.feed($0) }
            switch outcome {
            case .needMore: break
            case .complete(let status, let keepAlive, let consumed): return .complete(status: status, keepAlive: keepAlive, end: start + consumed)
            case .malformed(let why): return .malformed(why)
            }
            start = end
        }
        return .needMore
    }

    func response(_ r: inout SplitMix64) -> [UInt8] {
        let statuses = [100, 200, 201, 204, 301, 304, 404, 500, 503]
        var text = ""
        if r.below(5) == 0 { text += "HTTP/1.1 100 Continue\r\n\r\n" }
        let status = statuses[r.below(statuses.count)]
        text += "HTTP/1.\(r.below(2)) \(status) Reason\r\n"
        let body = String(repeating: "b", count: r.below(40))
        switch r.below(4) {
        case 0: text += "Content-Length: \(body.utf8.count)\r\n"
        case 1:
            text += "Transfer-Encoding: chunked\r\n"
        case 2: text += "Connection: \(["close", "keep-alive", "Upgrade, close"][r.below(3)])\r\n"
        default: break
        }
        for i in 0..<r.below(4) { text += "X-Header-\(i): value \(i)\r\n" }
        text += "\r\n"
        if text.contains("chunked") {
            var rest = Substring(body)
            while !rest.isEmpty {
                let n = min(rest.count, 1 + r.below(9))
                text += String(n, radix: 16) + (r.below(3) == 0 ? ";x=y" : "") + "\r\n" + rest.prefix(n) + "\r\n"
                rest = rest.dropFirst(n)
            }
            text += "0\r\n" + (r.below(2) == 0 ? "Trailer: t\r\n" : "") + "\r\n"
        } else {
            text += body
        }
        var bytes = Array(text.utf8)
        // Now and then a mutation: a byte changed, dropped or doubled.
        if r.below(3) == 0, !bytes.isEmpty {
            let at = r.below(bytes.count)
            switch r.below(3) {
            case 0: bytes[at] = UInt8(truncatingIfNeeded: r.next())
            case 1: bytes.remove(at: at)
            default: bytes.insert(bytes[at], at: at)
            }
        }
        return bytes
    }

    @Test("5,000 random responses: no trap, and the outcome is the same whole or split at random points")
    func splitInvariance() {
        var r = SplitMix64(state: 20261124)
        for _ in 0..<5000 {
            let bytes = response(&r)
            let bodiless = r.below(8) == 0
            let whole = parse(bytes, cuts: [], bodiless: bodiless)
            var cuts = (0..<r.below(6)).map { _ in r.below(bytes.count + 1) }.sorted()
            cuts = cuts.reduce(into: []) { if $0.last != $1 { $0.append($1) } }
            let split = parse(bytes, cuts: cuts, bodiless: bodiless)
            #expect(whole == split, "\(String(decoding: bytes, as: UTF8.self).debugDescription) cut at \(cuts)")
            if case .complete(_, _, let end) = whole { #expect(end <= bytes.count) }
        }
    }
}
