import MarshalCore
import Testing

@Suite("arithmetic and windows in expressions")
struct ArithmeticTests {
    @Test("+ - * / with the usual precedence, left to right, and parentheses")
    func precedence() throws {
        #expect(try evaluate("1 + 2 * 3") == .number(7))
        #expect(try evaluate("(1 + 2) * 3") == .number(9))
        #expect(try evaluate("10 - 4 - 3") == .number(3), "left to right, not 10 - (4 - 3)")
        #expect(try evaluate("12 / 3 / 2") == .number(2))
        #expect(try evaluate("2 * -3") == .number(-6))
        #expect(try evaluate("-(2 + 3)") == .number(-5))
        #expect(try evaluate("a-1", ["a": .number(5)]) == .number(4), "a minus after a value subtracts")
        #expect(try evaluate("a -1", ["a": .number(5)]) == .number(4))
        #expect(try evaluate("-1") == .number(-1))
        #expect(try holds("hits / (hits + misses) > 70%", ["hits": .number(80), "misses": .number(20)]))
        #expect(try !holds("hits / (hits + misses) > 70%", ["hits": .number(60), "misses": .number(40)]))
        #expect(try holds("p95 < base * 0.5 + 10ms", ["p95": .number(0.06), "base": .number(0.2)]))
    }

    @Test("a long sum does not deepen the tree")
    func longSum() throws {
        let text = (0..<5000).map { _ in "1" }.joined(separator: " + ")
        #expect(try evaluate(text) == .number(5000))
    }

    @Test("rates are per second: 100/min, 5/s, 3600/h")
    func rateLiterals() throws {
        #expect(try evaluate("120/min") == .number(2))
        #expect(try evaluate("5/s") == .number(5))
        #expect(try evaluate("3600/h") == .number(1))
        #expect(try evaluate("120 / m", ["m": .number(4)]) == .number(30), "with spaces, '/' divides by a name")
        #expect(try evaluate("6/min(2, 3)") == .number(3), "min( is the function")
    }

    @Test("division by zero at run time is no data, never a pass or a crash")
    func divisionByZero() throws {
        let error = try evaluationError("hits / (hits + misses) > 70%", ["hits": .number(0), "misses": .number(0)])
        guard case .noData(let message)? = error else {
            Issue.record("expected no data, got \(String(describing: error))")
            return
        }
        #expect(message.contains("division by zero"))
    }

    @Test("mistakes the input shows are refused at parse time, at their column")
    func parseErrors() {
        expectError("x / 0 > 1", at: "  ^", "division by zero")
        expectError("x + 'a' > 1", at: "  ^", "needs numbers on both sides, not a string")
        expectError("true * 2", at: "     ^", "not a boolean")
        expectError("[1] + 2", at: "    ^", "not a list")
        expectError("a +", at: "   ^", "expected a value after '+'")
        expectError("error-rate < 1", at: "     ^", "names use '_' (error_rate)")
        expectError("rate(1) > 2", at: "^", "rate() takes the name of a measured value")
        expectError("delta(a + b) > 2", at: "^", "delta() takes the name")
    }

    @Test("arithmetic on a string from data is a type mismatch naming number(...)")
    func stringOperand() throws {
        let error = try evaluationError("v * 2", ["v": .string("12")])
        guard case .typeMismatch(let message)? = error else {
            Issue.record("expected a type mismatch, got \(String(describing: error))")
            return
        }
        #expect(message.contains("number(...)"))
    }

    @Test("delta() and rate() read the window; without one they are no data")
    func windows() throws {
        let windows = ["hits": WindowedValue(start: 1000, end: 1010, seconds: 60),
                       "misses": WindowedValue(start: 50, end: 140, seconds: 60),
                       "processed": WindowedValue(start: 0, end: 30, seconds: 15)]
        let scope = DictionaryScope(["hits": .number(1010), "misses": .number(140)], windows: windows)
        let ratio = try parse("delta(hits) / (delta(hits) + delta(misses))").evaluate(in: scope)
        #expect(ratio == .number(0.1))
        #expect(try !parse("delta(hits) / (delta(hits) + delta(misses)) > 70%").test(in: scope))
        #expect(try parse("hits / (hits + misses) > 70%").test(in: scope), "the lifetime counters alone would pass")
        #expect(try parse("rate(processed) > 100/min").test(in: scope), "2/s is 120/min")
        #expect(try !parse("rate(processed) > 150/min").test(in: scope))
        let error = try evaluationError("delta(hits) > 0", ["hits": .number(3)])
        guard case .noData? = error else {
            Issue.record("expected no data without a window, got \(String(describing: error))")
            return
        }
        #expect(try parse("rate(processed) > 100/min and delta(hits) >= 0").windowedNames == ["processed", "hits"])
    }

    @Test("explain shows windowed values, rates per second and minute, and the computed side")
    func explain() throws {
        let scope = DictionaryScope(["queue_depth": .number(75)],
                                    windows: ["processed": WindowedValue(start: 10, end: 10, seconds: 15),
                                              "hits": WindowedValue(start: 0, end: 1, seconds: 15),
                                              "misses": WindowedValue(start: 0, end: 9, seconds: 15)])
        let text = try parse("rate(processed) > 100/min").explain(in: scope)
        #expect(text == "rate(processed) = 0/s (0/min); expected rate(processed) > 100/min", "got: \(text)")
        let ratio = try parse("delta(hits) / (delta(hits) + delta(misses)) > 70%").explain(in: scope)
        #expect(ratio.contains("delta(hits) = 1") && ratio.contains("delta(misses) = 9") && ratio.contains("computed = 0.1"), "got: \(ratio)")
    }
}
