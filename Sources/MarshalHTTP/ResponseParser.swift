import Foundation
import MarshalCore

/// Reads one HTTP/1.1 response at a time from the bytes a load-test connection delivers, in
/// whatever pieces they arrive: the status, whether the connection may carry another request,
/// and where the response ends (Content-Length, chunked, or the server closing). The body is
/// skipped, never kept. Informational (1xx) responses are passed over; HEAD, 204 and 304 have no
/// body. Lines end in CRLF (RFC 9112 §2.2). What llhttp refuses in strict mode is refused here
/// (a bare CR, header names that are not tokens, malformed chunk sizes and extensions, both
/// Content-Length and Transfer-Encoding), with one leniency kept on purpose: a bare LF ends a line,
/// as RFC 9112 §2.2 allows a recipient to, and as curl and Go's net/http (k6) accept. A bare LF is
/// never ambiguous here (it always ends the line), so it cannot split a response; refusing it would
/// count every answer of such a server as an error where k6 and curl report successes.
struct ResponseParser {
    enum Outcome: Equatable {
        case needMore
        /// `consumed` bytes of the last piece belonged to this response; any after it are a protocol error.
        case complete(status: Int, keepAlive: Bool, consumed: Int)
        case malformed(String)
    }

    /// A response head larger than this is refused rather than buffered without end.
    static let maxHeadBytes = 64 * 1024

    private enum State {
        case head
        case fixed(remaining: Int)
        case chunkSize(ChunkLine)
        case chunkData(remaining: Int)
        case chunkEnd(sawCR: Bool)
        case trailer(lineLength: Int, sawCR: Bool)
        case untilClose
        case done
    }

    /// Where a chunk-size line is: `1*HEXDIG *( ";" token [ "=" ( token / quoted-string ) ] ) CRLF`
    /// (RFC 9112 §7.1.1), with no whitespace anywhere, as llhttp requires in strict mode.
    private struct ChunkLine {
        enum Part { case size, extName, extValueStart, extToken, extQuoted, extQuotedEscape, afterQuoted, cr }
        var part = Part.size
        var value = 0
        var digits = 0
        var partLength = 0
    }

    private var state = State.head
    private var head: [UInt8] = []
    private var searchFrom = 0
    private var status = 0
    private var keepAlive = true
    private var bodiless = false
    private var trailerBytes = 0
    /// Any byte of this response has arrived.
    private(set) var started = false

    init() {
        head.reserveCapacity(1024)
    }

    /// Gets ready for the next response; `bodiless` for the answer to a HEAD request.
    mutating func reset(bodiless: Bool) {
        state = .head
        head.removeAll(keepingCapacity: true)
        searchFrom = 0
        status = 0
        keepAlive = true
        trailerBytes = 0
        self.bodiless = bodiless
        started = false
    }

    /// Takes the next piece of the stream.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        if !bytes.isEmpty { started = true }
        var index = 0
        while true {
            switch state {
            case .head:
                let (outcome, used, headRead) = readHead(bytes, from: index)
                index = used
                if let outcome { return outcome }
                if !headRead { return .needMore }
            case .fixed(let remaining):
                let take = min(remaining, bytes.count - index)
                index += take
                if remaining - take == 0 { return finish(consumed: index) }
                state = .fixed(remaining: remaining - take)
                return .needMore
            case .chunkData(let remaining):
                let take = min(remaining, bytes.count - index)
                index += take
                guard take == remaining else {
                    state = .chunkData(remaining: remaining - take)
                    return .needMore
                }
                state = .chunkEnd(sawCR: false)
            case .chunkSize, .chunkEnd, .trailer:
                guard index < bytes.count else { return .needMore }
                if let problem = step(bytes[index]) { return .malformed(problem) }
                index += 1
                if case .done = state { return finish(consumed: index) }
            case .untilClose:
                return .needMore
            case .done:
                return .complete(status: status, keepAlive: keepAlive, consumed: 0)
            }
        }
    }

    /// The server closed the connection: complete if the body was delimited by the close.
    mutating func endOfStream() -> Outcome {
        switch state {
        case .untilClose:
            state = .done
            return .complete(status: status, keepAlive: false, consumed: 0)
        case .head where !started:
            return .malformed("the connection closed before any response arrived")
        default:
            return .malformed("the connection closed in the middle of the response")
        }
    }

    private mutating func finish(consumed: Int) -> Outcome {
        state = .done
        return .complete(status: status, keepAlive: keepAlive, consumed: consumed)
    }

    // MARK: head

    /// Appends head bytes; once the blank line is in, parses the head and moves to the body.
    /// Returns an outcome when the response ended (or failed), how far `bytes` was used, and
    /// whether a whole head was read.
    private mutating func readHead(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (Outcome?, Int, Bool) {
        var start = start
        // Empty lines before a status line are skipped, as llhttp and curl do.
        if head.isEmpty {
            while start < bytes.count && (bytes[start] == 0x0D || bytes[start] == 0x0A) { start += 1 }
            if start == bytes.count { return (nil, start, false) }
        }
        let before = head.count
        head.append(contentsOf: bytes[start...])
        let scan = headEnd()
        guard case .end(let end) = scan else {
            if case .bareCR(let at) = scan { return (.malformed(bareCRProblem(at: at)), bytes.count, false) }
            if head.count > Self.maxHeadBytes { return (.malformed("response head over \(Self.maxHeadBytes) bytes"), bytes.count, false) }
            return (nil, bytes.count, false)
        }
        let used = start + (end - before)
        if let problem = parseHead(upTo: end) { return (.malformed(problem), used, true) }
        if (100..<200).contains(status) && status != 101 {
            // An interim response: the real one follows in the same stream.
            head.removeAll(keepingCapacity: true)
            searchFrom = 0
            state = .head
            return (nil, used, true)
        }
        if case .done = state { return (finish(consumed: used), used, true) }
        return (nil, used, true)
    }

    private enum HeadScan { case end(Int), bareCR(Int), incomplete }

    /// The index just past the blank line ending the head, if it has arrived; or where a CR that
    /// is not followed by LF sits. A bare CR is refused as soon as it is seen (RFC 9112 §2.2):
    /// taking it as part of a line is the response-splitting shape, and waiting for a blank line
    /// that never comes would turn a broken answer into a timeout.
    private mutating func headEnd() -> HeadScan {
        var i = searchFrom
        let n = head.count
        while i < n {
            if head[i] == 0x0D {
                guard i + 1 < n else { break }
                if head[i + 1] != 0x0A { return .bareCR(i) }
            } else if head[i] == 0x0A {
                if i + 1 < n && head[i + 1] == 0x0A { return .end(i + 2) }
                if i + 2 < n && head[i + 1] == 0x0D && head[i + 2] == 0x0A { return .end(i + 3) }
                if i + 2 >= n { break }
            }
            i += 1
        }
        searchFrom = i
        return .incomplete
    }

    private func bareCRProblem(at index: Int) -> String {
        let lineStart = head[..<index].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
        let which = lineStart == 0 ? "the status line" : "a header line"
        return "a CR not followed by LF in \(which): \(printable(lineStart..<index + 2))"
    }

    /// Status line and the three headers that frame the body; sets the next state.
    private mutating func parseHead(upTo end: Int) -> String? {
        var length: Int?
        var chunked = false
        var sawTransferEncoding = false
        var lineStart = 0
        var first = true
        for i in 0..<end where head[i] == 0x0A {
            var lineEnd = i
            if lineEnd > lineStart && head[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = lineStart..<lineEnd
            lineStart = i + 1
            if line.isEmpty { continue }
            if first {
                first = false
                if let problem = parseStatusLine(line) { return problem }
                continue
            }
            if head[line.lowerBound] == 0x20 || head[line.lowerBound] == 0x09 {
                // obs-fold (RFC 9112 §5.2) is deprecated; llhttp refuses it in strict mode, and a
                // folded framing header is a known way to make two parsers disagree.
                return "a header line starting with whitespace (obsolete line folding): \(printable(line))"
            }
            guard let colon = head[line].firstIndex(of: UInt8(ascii: ":")) else { return "a header line without a colon: \(printable(line))" }
            let name = line.lowerBound..<colon
            guard !name.isEmpty, name.allSatisfy({ isTokenByte(head[$0]) }) else {
                return "a header name that is not a token (RFC 9110 §5.1): \(printable(line))"
            }
            let value = trimmed(colon + 1..<line.upperBound)
            if let bad = value.first(where: { !isFieldValueByte(head[$0]) }) {
                return "a control character (0x\(String(head[bad], radix: 16))) in a header value: \(printable(line))"
            }
            if named(name, "content-length") {
                guard let n = decimal(value) else { return "Content-Length is not a number: \(printable(value))" }
                // RFC 9110 §8.6 lets identical copies pass; llhttp refuses any second one, and so do we.
                if length != nil { return "more than one Content-Length" }
                length = n
            } else if named(name, "transfer-encoding") {
                sawTransferEncoding = true
                chunked = lastToken(value).map { named($0, "chunked") } ?? false
            } else if named(name, "connection") {
                if containsToken(value, "close") { keepAlive = false }
                if containsToken(value, "keep-alive") { keepAlive = true }
            }
        }
        if first { return "empty response head" }
        // RFC 9112 §6.3 ¶3: both together "ought to be handled as an error" (a splitting attempt).
        if sawTransferEncoding && length != nil { return "both Content-Length and Transfer-Encoding" }
        if status == 101 {
            // Switching Protocols: what follows is not HTTP/1.1, so the answer ends with its head
            // and the connection cannot carry another request.
            state = .done
            keepAlive = false
        } else if bodiless || status == 204 || status == 304 || (100..<200).contains(status) {
            state = .done
        } else if chunked {
            state = .chunkSize(ChunkLine())
        } else if let length {
            state = length == 0 ? .done : .fixed(remaining: length)
        } else {
            state = .untilClose
            keepAlive = false
        }
        return nil
    }

    /// "HTTP/1.1 200 OK": HTTP/1.0 or 1.1, one space, three digits, then a space and any reason
    /// phrase or the end of the line. HTTP/1.0 closes unless told otherwise.
    private mutating func parseStatusLine(_ line: Range<Int>) -> String? {
        let s = line.lowerBound
        guard line.count >= 12, head[s..<s + 5].elementsEqual("HTTP/".utf8),
              digit(head[s + 5]) != nil, head[s + 6] == UInt8(ascii: "."), digit(head[s + 7]) != nil,
              head[s + 8] == 0x20,
              let d1 = digit(head[s + 9]), let d2 = digit(head[s + 10]), let d3 = digit(head[s + 11]),
              line.count == 12 || head[s + 12] == 0x20
        else {
            return "not an HTTP/1.x status line: \(printable(line))"
        }
        // llhttp also takes 0.9 and 2.0 here; neither can be the answer to an HTTP/1.1 request.
        guard head[s + 5] == UInt8(ascii: "1"), head[s + 7] == UInt8(ascii: "0") || head[s + 7] == UInt8(ascii: "1") else {
            return "an HTTP version other than 1.0 or 1.1: \(printable(line))"
        }
        status = d1 * 100 + d2 * 10 + d3
        keepAlive = head[s + 7] != UInt8(ascii: "0")
        return nil
    }

    // MARK: chunked framing, a byte at a time (size lines and trailers are short)

    private mutating func step(_ byte: UInt8) -> String? {
        switch state {
        case .chunkSize(var line):
            if let problem = chunkLine(&line, byte) { return problem }
            state = .chunkSize(line)
            if byte == 0x0A {
                state = line.value == 0 ? .trailer(lineLength: 0, sawCR: false) : .chunkData(remaining: line.value)
            }
        case .chunkEnd(let sawCR):
            if byte == 0x0D && !sawCR {
                state = .chunkEnd(sawCR: true)
            } else if byte == 0x0A {
                state = .chunkSize(ChunkLine())
            } else {
                return sawCR ? "a CR not followed by LF after chunk data" : "chunk data longer than its size"
            }
        case .trailer(let lineLength, let sawCR):
            trailerBytes += 1
            if trailerBytes > Self.maxHeadBytes { return "trailer over \(Self.maxHeadBytes) bytes" }
            if sawCR && byte != 0x0A { return "a CR not followed by LF in the trailer" }
            if byte == 0x0A {
                state = lineLength == 0 ? .done : .trailer(lineLength: 0, sawCR: false)
            } else if byte == 0x0D {
                state = .trailer(lineLength: lineLength, sawCR: true)
            } else if lineLength == 0 && (byte == 0x20 || byte == 0x09) {
                return "a trailer line starting with whitespace (obsolete line folding)"
            } else {
                state = .trailer(lineLength: lineLength + 1, sawCR: false)
            }
        default:
            break
        }
        return nil
    }

    /// One byte of a chunk-size line; the caller moves on at its LF.
    private func chunkLine(_ line: inout ChunkLine, _ byte: UInt8) -> String? {
        if line.part == .cr { return byte == 0x0A ? nil : "a CR not followed by LF after a chunk size" }
        if byte == 0x0D || byte == 0x0A {
            switch line.part {
            case .size where line.digits == 0: return "a chunk size line without a size"
            case .extName where line.partLength == 0: return "a chunk extension without a name"
            case .extValueStart: return "a chunk extension with `=` and no value"
            case .extQuoted, .extQuotedEscape: return "an unterminated quoted chunk extension value"
            default: break
            }
            if byte == 0x0D { line.part = .cr }
            return nil
        }
        switch line.part {
        case .size:
            if let h = hexDigit(byte) {
                guard line.digits < 15 else { return "a chunk size over 15 hex digits" }
                line.value = line.value * 16 + h
                line.digits += 1
            } else if byte == UInt8(ascii: ";") && line.digits > 0 {
                line.part = .extName
                line.partLength = 0
            } else {
                return "a chunk size that is not hexadecimal (0x\(String(byte, radix: 16)) in the size line)"
            }
        case .extName:
            if isTokenByte(byte) {
                line.partLength += 1
            } else if byte == UInt8(ascii: ";") && line.partLength > 0 {
                line.partLength = 0
            } else if byte == UInt8(ascii: "=") && line.partLength > 0 {
                line.part = .extValueStart
            } else {
                return "an invalid character (0x\(String(byte, radix: 16))) in a chunk extension name"
            }
        case .extValueStart:
            if byte == UInt8(ascii: "\"") {
                line.part = .extQuoted
            } else if isTokenByte(byte) {
                line.part = .extToken
            } else {
                return "an invalid character (0x\(String(byte, radix: 16))) in a chunk extension value"
            }
        case .extToken, .afterQuoted:
            if byte == UInt8(ascii: ";") {
                line.part = .extName
                line.partLength = 0
            } else if line.part == .afterQuoted || !isTokenByte(byte) {
                return "an invalid character (0x\(String(byte, radix: 16))) in a chunk extension value"
            }
        case .extQuoted:
            if byte == UInt8(ascii: "\"") {
                line.part = .afterQuoted
            } else if byte == UInt8(ascii: "\\") {
                line.part = .extQuotedEscape
            } else if !isFieldValueByte(byte) {
                return "an invalid character (0x\(String(byte, radix: 16))) in a quoted chunk extension value"
            }
        case .extQuotedEscape:
            guard isFieldValueByte(byte) else { return "an invalid escaped character in a chunk extension value" }
            line.part = .extQuoted
        case .cr:
            break
        }
        return nil
    }

    // MARK: bytes

    /// tchar (RFC 9110 §5.6.2): what a header name or a chunk extension token may hold.
    private func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        default: "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }

    /// field-vchar, SP and HTAB (RFC 9110 §5.5): no other control characters.
    private func isFieldValueByte(_ b: UInt8) -> Bool {
        b == 0x09 || (b >= 0x20 && b != 0x7F)
    }

    private func digit(_ b: UInt8) -> Int? {
        b >= 0x30 && b <= 0x39 ? Int(b - 0x30) : nil
    }

    private func hexDigit(_ b: UInt8) -> Int? {
        switch b {
        case 0x30...0x39: Int(b - 0x30)
        case 0x41...0x46: Int(b - 0x41 + 10)
        case 0x61...0x66: Int(b - 0x61 + 10)
        default: nil
        }
    }

    private func decimal(_ r: Range<Int>) -> Int? {
        guard !r.isEmpty, r.count <= 18 else { return nil }
        var n = 0
        for i in r {
            guard let d = digit(head[i]) else { return nil }
            n = n * 10 + d
        }
        return n
    }

    private func trimmed(_ r: Range<Int>) -> Range<Int> {
        var lo = r.lowerBound, hi = r.upperBound
        while lo < hi && (head[lo] == 0x20 || head[lo] == 0x09) { lo += 1 }
        while hi > lo && (head[hi - 1] == 0x20 || head[hi - 1] == 0x09) { hi -= 1 }
        return lo..<hi
    }

    /// ASCII case-insensitive comparison with a lowercase name.
    private func named(_ r: Range<Int>, _ name: StaticString) -> Bool {
        guard r.count == name.utf8CodeUnitCount else { return false }
        let p = name.utf8Start
        for (k, i) in r.enumerated() where lower(head[i]) != p[k] { return false }
        return true
    }

    private func lower(_ b: UInt8) -> UInt8 {
        b >= 0x41 && b <= 0x5A ? b | 0x20 : b
    }

    /// The comma-separated tokens of a header value, trimmed (no allocation: this runs per response).
    private func forEachToken(_ r: Range<Int>, _ body: (Range<Int>) -> Bool) {
        var start = r.lowerBound
        for i in r.lowerBound...r.upperBound where i == r.upperBound || head[i] == UInt8(ascii: ",") {
            let token = trimmed(start..<i)
            if !token.isEmpty && !body(token) { return }
            start = i + 1
        }
    }

    private func containsToken(_ r: Range<Int>, _ token: StaticString) -> Bool {
        var found = false
        forEachToken(r) { found = named($0, token); return !found }
        return found
    }

    private func lastToken(_ r: Range<Int>) -> Range<Int>? {
        var last: Range<Int>?
        forEachToken(r) { last = $0; return true }
        return last
    }

    private func printable(_ r: Range<Int>) -> String {
        let text = String(decoding: head[r.lowerBound..<min(r.upperBound, r.lowerBound + 80)], as: UTF8.self)
        return "\"" + ControlCharacters.escape(text) + "\""
    }
}
