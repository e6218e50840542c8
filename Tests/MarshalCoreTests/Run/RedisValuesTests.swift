@testable import MarshalCore
import Testing

@Suite("redis check values")
struct RedisValuesTests {
    let endpoint = RedisEndpoint(host: "127.0.0.1")
    let info = "# Stats\r\nkeyspace_hits:1000\r\nkeyspace_misses:250\r\nredis_version:7.0.15\r\n# Keyspace\r\ndb0:keys=12,expires=3,avg_ttl=0\r\n"

    @Test("INFO fields, keyspace lines, queue depth and key values; hits and misses leave out the check's own reads")
    func values() throws {
        let key = RedisStep.Key(name: "processed", command: .get, key: TemplateString("stats:processed", at: .synthetic("t")))
        let failed = RedisStep.Key(name: "failed_jobs", command: .zcard, key: TemplateString("failed_jobs", at: .synthetic("t")))
        let replies: [RedisReply] = [.integer(7), .integer(0), .bulk(Array("42".utf8)), .integer(0), .bulk(Array(info.utf8))]
        let values = try RedisRunner.values(replies: replies, queues: ["default", "emails"],
                                            keys: [(key, "stats:processed"), (failed, "failed_jobs")], endpoint: endpoint, window: nil)
        #expect(values["queue_depth"] == .number(7))
        #expect(values["processed"] == .number(42))
        #expect(values["failed_jobs"] == .number(0))
        #expect(values["redis_version"] == .string("7.0.15"))
        #expect(values["db0.keys"] == .number(12) && values["db0.expires"] == .number(3))
        // Own reads: LLEN 7 (hit), LLEN 0 (miss), GET 42 (hit), ZCARD 0 (miss).
        #expect(values["hits"] == .number(998) && values["misses"] == .number(248))
        #expect(values["hit_rate"] == values["lifetime_hit_rate"])
        #expect(values["keyspace_hits"] == .number(1000), "raw INFO fields stay as the server says")
    }

    @Test("over a window, hit_rate is of the lookups between the samples, not since the server started")
    func windowedHitRate() throws {
        // First sample: counters after its own reads; the last sample's own reads are left out.
        let window = WindowSample(start: ["keyspace_hits": 1000, "keyspace_misses": 250], seconds: 60)
        let end = "keyspace_hits:1010\r\nkeyspace_misses:340\r\n"
        let values = try RedisRunner.values(replies: [.bulk(Array(end.utf8))], queues: [], keys: [], endpoint: endpoint, window: window)
        #expect(values["hit_rate"] == .number(0.1))
        #expect(values["lifetime_hit_rate"] == .number(1010.0 / 1350.0))
        let idle = try RedisRunner.values(replies: [.bulk(Array("keyspace_hits:1000\r\nkeyspace_misses:250\r\n".utf8))], queues: [], keys: [],
                                          endpoint: endpoint, window: window)
        #expect(idle["hit_rate"] == nil, "no lookups in the window: no data, not 0 % and not the lifetime rate")
    }

    @Test("a reply of the wrong type names the command and the key's name")
    func wrongType() {
        let key = RedisStep.Key(name: "depth", command: .llen, key: TemplateString("k", at: .synthetic("t")))
        #expect(throws: RedisError.self) {
            _ = try RedisRunner.values(replies: [.error("WRONGTYPE Operation against a key holding the wrong kind of value"), .bulk([])],
                                       queues: [], keys: [(key, "k")], endpoint: endpoint, window: nil)
        }
    }

    @Test("URLs: host, port, database, user and password; the message for a bad one never shows the password")
    func endpoints() throws {
        let parsed = try RedisEndpoint.parse("redis://app:s%40cret@cache.internal:6380/2", password: nil).get()
        #expect(parsed.host == "cache.internal" && parsed.port == 6380 && parsed.database == 2 && parsed.username == "app")
        #expect(parsed.password?.reveal() == "s@cret")
        guard case .failure(let failure) = RedisEndpoint.parse("redis://u:topsecret@h/x", password: nil) else {
            Issue.record("a database 'x' parsed")
            return
        }
        #expect(failure.message.contains("database number") && !failure.message.contains("topsecret"))
    }

    @Test("redis-cli --no-raw output: one line per reply, INFO verbatim last; NOAUTH is an authentication error")
    func cliOutput() throws {
        let out = "(integer) 3\n(nil)\n\"a \\\"b\\\"\\n\\x01\"\n(error) WRONGTYPE bad\n# Stats\nkeyspace_hits:5\n"
        let replies = try RedisCLIClient.parse(out, count: 5, endpoint: endpoint, stderr: "")
        #expect(replies[0] == .integer(3))
        #expect(replies[1] == .bulk(nil))
        #expect(replies[2] == .bulk(Array("a \"b\"\n\u{01}".utf8)))
        #expect(replies[3] == .error("WRONGTYPE bad"))
        #expect(replies[4].text?.contains("keyspace_hits:5") == true)
        #expect(throws: RedisError.self) { _ = try RedisCLIClient.parse("(error) NOAUTH Authentication required.\n", count: 1, endpoint: endpoint, stderr: "") }
        #expect(RedisCLIClient.quote("a \"b\"\n") == #""a \"b\"\n""#)
    }
}
