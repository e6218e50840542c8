import Foundation

/// Reads one HTTP/1.1 response at a time from the bytes a load-test connection delivers, in
/// whatever pieces they arrive: the status, whether the connection may carry another request,
/// and where the response ends (Content-Length, chunked, or the server closing). The body is
/// skipped, never kept. Informational (1xx) responses are passed over; HEAD, 204 and 304 have no
/// body. Lines end in CRLF (RFC 9112 §2.2); a bare LF is accepted as well.
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
        case chunkSize(value: Int, digits: Int, inExtension: Bool)
        case chunkData(remaining: Int)
        case chunkEnd(sawCR: Bool)
        case trailer(lineLength: Int)
        case untilClose
        case done
    }

    private var state = State.head
    private var head: [UInt8] = []
    private var searchFrom = 0
    private var status = 0
    private var keepAlive = true
    private var bodiless = false
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
        let before = head.count
        head.append(contentsOf: bytes[start...])
        guard let end = headEnd() else {
            if head.count > Self.maxHeadBytes { return (.malformed("response head over \(Self.maxHeadBytes) bytes"), bytes.count, false) }
            searchFrom = max(0, head.count - 3)
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

    /// The index just past the blank line ending the head, if it has arrived.
    private mutating func headEnd() -> Int? {
        var i = searchFrom
        let n = head.count
        while i < n {
            if head[i] == 0x0A {
                if i + 1 < n && head[i + 1] == 0x0A { return i + 2 }
                if i + 2 < n && head[i + 1] == 0x0D && head[i + 2] == 0x0A { return i + 3 }
            }
            i += 1
        }
        return nil
    }

    /// Status line and the three headers that frame the body; sets the next state.
    private mutating func parseHead(upTo end: Int) -> String? {
        var length: Int?
        var chunked = false
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
            guard let colon = head[line].firstIndex(of: UInt8(ascii: ":")) else { return "a header line without a colon: \(printable(line))" }
            let name = line.lowerBound..<colon
            let value = trimmed(colon + 1..<line.upperBound)
            if named(name, "content-length") {
                guard let n = decimal(value) else { return "Content-Length is not a number: \(printable(value))" }
                if let length, length != n { return "two different Content-Length values" }
                length = n
            } else if named(name, "transfer-encoding") {
                chunked = lastToken(value).map { named($0, "chunked") } ?? false
            } else if named(name, "connection") {
                if containsToken(value, "close") { keepAlive = false }
                if containsToken(value, "keep-alive") { keepAlive = true }
            }
        }
        if first { return "empty response head" }
        if bodiless || status == 204 || status == 304 || (100..<200).contains(status) {
            state = .done
        } else if chunked {
            state = .chunkSize(value: 0, digits: 0, inExtension: false)
        } else if let length {
            state = length == 0 ? .done : .fixed(remaining: length)
        } else {
            state = .untilClose
            keepAlive = false
        }
        return nil
    }

    /// "HTTP/1.1 200 OK": version, a space, three digits. HTTP/1.0 closes unless told otherwise.
    private mutating func parseStatusLine(_ line: Range<Int>) -> String? {
        let s = line.lowerBound
        guard line.count >= 12, head[s..<s + 5].elementsEqual("HTTP/".utf8), head[s + 5] == UInt8(ascii: "1"),
              head[s + 6] == UInt8(ascii: "."), head[s + 8] == 0x20,
              let d1 = digit(head[s + 9]), let d2 = digit(head[s + 10]), let d3 = digit(head[s + 11])
        else {
            return "not an HTTP/1.x status line: \(printable(line))"
        }
        status = d1 * 100 + d2 * 10 + d3
        keepAlive = head[s + 7] != UInt8(ascii: "0")
        return nil
    }

    // MARK: chunked framing, a byte at a time (size lines and trailers are short)

    private mutating func step(_ byte: UInt8) -> String? {
        switch state {
        case .chunkSize(let value, let digits, let inExtension):
            if byte == 0x0A {
                guard digits > 0 else { return "a chunk size line without a size" }
                state = value == 0 ? .trailer(lineLength: 0) : .chunkData(remaining: value)
            } else if byte == 0x0D || inExtension {
                break
            } else if byte == UInt8(ascii: ";") || byte == 0x20 || byte == 0x09 {
                state = .chunkSize(value: value, digits: digits, inExtension: true)
            } else if let h = hexDigit(byte) {
                guard digits < 15 else { return "a chunk size over 15 hex digits" }
                state = .chunkSize(value: value * 16 + h, digits: digits + 1, inExtension: false)
            } else {
                return "a chunk size that is not hexadecimal"
            }
        case .chunkEnd(let sawCR):
            if byte == 0x0D && !sawCR {
                state = .chunkEnd(sawCR: true)
            } else if byte == 0x0A {
                state = .chunkSize(value: 0, digits: 0, inExtension: false)
            } else {
                return "chunk data longer than its size"
            }
        case .trailer(let lineLength):
            if byte == 0x0A {
                state = lineLength == 0 ? .done : .trailer(lineLength: 0)
            } else if byte != 0x0D {
                state = .trailer(lineLength: lineLength + 1)
            }
        default:
            break
        }
        return nil
    }

    // MARK: bytes

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
        return "\"" + text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : String($0) }.joined() + "\""
    }
}
