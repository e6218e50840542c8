@testable import MarshalRedis
import MarshalCore
import Testing

@Suite("RESP parser")
struct RESPParserTests {
    @Test("every reply type, split at every byte, comes out whole and in order")
    func fragmented() throws {
        let wire = Array("+OK\r\n-ERR wrong\r\n:42\r\n$5\r\nhe\r\no\r\n$-1\r\n*2\r\n:1\r\n$0\r\n\r\n*-1\r\n".utf8)
        let expected: [RedisReply] = [.simple("OK"), .error("ERR wrong"), .integer(42), .bulk(Array("he\r\no".utf8)), .bulk(nil),
                                      .array([.integer(1), .bulk([])]), .array(nil)]
        for split in 0...wire.count {
            var parser = RESPParser()
            var replies: [RedisReply] = []
            parser.append(wire[..<split])
            while let reply = try parser.next() { replies.append(reply) }
            parser.append(wire[split...])
            while let reply = try parser.next() { replies.append(reply) }
            #expect(replies == expected, "split at \(split)")
        }
    }

    @Test("malformed input is an error naming what is wrong, never a crash or a hang")
    func malformed() {
        for (text, reason) in [("?x\r\n", "unknown reply type"), (":12a\r\n", "integer reply"), ("$-5\r\n", "bulk length"),
                               ("$3\r\nabcd\r\n", "not ended by CRLF"), ("+OK\n", "without CR"), ("*99999999\r\n", "array length"),
                               ("$99999999999\r\n", "bulk length")] {
            var parser = RESPParser()
            parser.append(Array(text.utf8))
            do {
                _ = try parser.next()
                Issue.record("\(text.debugDescription) parsed")
            } catch {
                guard case .malformed(let message) = error else { return }
                #expect(message.contains(reason), "\(text.debugDescription): \(message)")
            }
        }
        var deep = RESPParser()
        deep.append(Array(String(repeating: "*1\r\n", count: 100).utf8) + Array(":1\r\n".utf8))
        #expect(throws: RESPParser.Failure.self) { _ = try deep.next() }
    }

    @Test("commands are arrays of bulk strings, binary-safe")
    func encode() {
        #expect(RESPParser.encode(["GET", "a b\r\n"]) == Array("*2\r\n$3\r\nGET\r\n$5\r\na b\r\n\r\n".utf8))
    }
}
