import MarshalCore

/// Incremental RESP2 reader (https://redis.io/docs/reference/protocol-spec/): bytes go in as they
/// arrive, whole replies come out. Lengths are bounded so a hostile server cannot make it allocate
/// without limit.
struct RESPParser {
    /// The most a single bulk string or the whole buffer may hold (INFO is a few KiB).
    static let maxBulk = 64 * 1024 * 1024
    static let maxArray = 1_000_000
    static let maxDepth = 32

    enum Failure: Error, Equatable {
        case malformed(String)
    }

    private var buffer: [UInt8] = []
    private var position = 0

    mutating func append(_ bytes: some Sequence<UInt8>) {
        if position > 0, position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete reply, nil when more bytes are needed.
    mutating func next() throws(Failure) -> RedisReply? {
        var cursor = position
        guard let reply = try parse(at: &cursor, depth: 0) else { return nil }
        position = cursor
        return reply
    }

    private func line(at cursor: inout Int) throws(Failure) -> String? {
        var i = cursor
        while i < buffer.count {
            if buffer[i] == 13 {
                guard i + 1 < buffer.count else { return nil }
                guard buffer[i + 1] == 10 else { throw .malformed("a bare CR inside a reply line") }
                let text = String(decoding: buffer[cursor..<i], as: UTF8.self)
                cursor = i + 2
                return text
            }
            if buffer[i] == 10 { throw .malformed("a line ended by LF without CR") }
            i += 1
        }
        if buffer.count - cursor > 64 * 1024 { throw .malformed("a reply line longer than 64 KiB") }
        return nil
    }

    private func parse(at cursor: inout Int, depth: Int) throws(Failure) -> RedisReply? {
        guard depth <= Self.maxDepth else { throw .malformed("arrays nested deeper than \(Self.maxDepth)") }
        guard cursor < buffer.count else { return nil }
        let type = buffer[cursor]
        var rest = cursor + 1
        guard let header = try line(at: &rest) else { return nil }
        switch type {
        case UInt8(ascii: "+"):
            cursor = rest
            return .simple(header)
        case UInt8(ascii: "-"):
            cursor = rest
            return .error(header)
        case UInt8(ascii: ":"):
            guard let n = Int64(header) else { throw .malformed("integer reply '\(header.prefix(40))'") }
            cursor = rest
            return .integer(n)
        case UInt8(ascii: "$"):
            guard let length = try Self.length(header, atMost: Self.maxBulk, "bulk length") else {
                cursor = rest
                return .bulk(nil)
            }
            guard buffer.count - rest >= length + 2 else { return nil }
            guard buffer[rest + length] == 13, buffer[rest + length + 1] == 10 else { throw .malformed("a bulk string not ended by CRLF") }
            let bytes = Array(buffer[rest..<(rest + length)])
            cursor = rest + length + 2
            return .bulk(bytes)
        case UInt8(ascii: "*"):
            guard let count = try Self.length(header, atMost: Self.maxArray, "array length") else {
                cursor = rest
                return .array(nil)
            }
            var items: [RedisReply] = []
            for _ in 0..<count {
                guard let item = try parse(at: &rest, depth: depth + 1) else { return nil }
                items.append(item)
            }
            cursor = rest
            return .array(items)
        default:
            throw .malformed("unknown reply type byte \(type)")
        }
    }

    /// A bulk string's or an array's length header; nil for -1, RESP's null.
    private static func length(_ header: String, atMost limit: Int, _ what: String) throws(Failure) -> Int? {
        guard let length = Int(header), length >= -1, length <= limit else { throw .malformed("\(what) '\(header.prefix(40))'") }
        return length == -1 ? nil : length
    }

    /// A command as RESP: an array of bulk strings.
    static func encode(_ command: [String]) -> [UInt8] {
        var out = Array("*\(command.count)\r\n".utf8)
        for argument in command {
            let bytes = Array(argument.utf8)
            out += Array("$\(bytes.count)\r\n".utf8) + bytes + [13, 10]
        }
        return out
    }
}
