import MarshalCore
import Testing

@Suite("Expression literals")
struct LiteralTests {
    @Test("durations normalise to seconds", arguments: [
        ("500ms", 0.5), ("250us", 0.00025), ("250µs", 0.00025), ("2s", 2.0), ("1.5s", 1.5),
        ("2m", 120.0), ("2min", 120.0), ("1h", 3600.0), ("0.5h", 1800.0),
    ])
    func durations(text: String, seconds: Double) throws {
        #expect(try evaluate(text) == .number(seconds))
    }

    @Test("percentages normalise to fractions", arguments: [("1%", 0.01), ("50%", 0.5), ("0.5%", 0.005), ("100%", 1.0)])
    func percentages(text: String, fraction: Double) throws {
        #expect(try evaluate(text) == .number(fraction))
    }

    @Test("sizes normalise to bytes, KB 1000-based and KiB 1024-based", arguments: [
        ("10B", 10.0), ("2KB", 2000.0), ("2MB", 2_000_000.0), ("1GB", 1e9),
        ("2KiB", 2048.0), ("1MiB", 1_048_576.0), ("1GiB", 1_073_741_824.0),
    ])
    func sizes(text: String, bytes: Double) throws {
        #expect(try evaluate(text) == .number(bytes))
    }

    @Test("plain, decimal, negative and exponent numbers")
    func numbers() throws {
        #expect(try evaluate("42") == .number(42))
        #expect(try evaluate("3.25") == .number(3.25))
        #expect(try evaluate("-7") == .number(-7))
        #expect(try evaluate("-0.5s") == .number(-0.5))
        #expect(try evaluate("1e3") == .number(1000))
        #expect(try evaluate("value > -1", ["value": .number(0)]) == .bool(true))
    }

    @Test("a threshold in ms compares with a latency measured in seconds")
    func unitsCompare() throws {
        #expect(try holds("p95 < 500ms", ["p95": .number(0.499)]))
        #expect(try !holds("p95 < 500ms", ["p95": .number(0.612)]))
        #expect(try holds("error_rate < 1%", ["error_rate": .number(0.005)]))
        #expect(try holds("size >= 2MB", ["size": .number(2_000_000)]))
    }

    @Test("strings in either quote with escapes")
    func strings() throws {
        #expect(try evaluate(#""healthy""#) == .string("healthy"))
        #expect(try evaluate("'healthy'") == .string("healthy"))
        #expect(try evaluate(#""say \"hi\"""#) == .string("say \"hi\""))
        #expect(try evaluate(#"'it\'s'"#) == .string("it's"))
        #expect(try evaluate(#""a\\b""#) == .string("a\\b"))
        #expect(try evaluate(#""line\nnext""#) == .string("line\nnext"))
        #expect(try evaluate(#""a and b < 3""#) == .string("a and b < 3"))
    }

    @Test("true, false, null and list literals")
    func keywords() throws {
        #expect(try evaluate("true") == .bool(true))
        #expect(try evaluate("false") == .bool(false))
        #expect(try evaluate("null") == .null)
        #expect(try evaluate("[200, 401, 'x', []]") == .array([.number(200), .number(401), .string("x"), .array([])]))
    }
}
