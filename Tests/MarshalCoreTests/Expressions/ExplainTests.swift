import MarshalCore
import Testing

@Suite("Explaining an expression")
struct ExplainTests {
    @Test("a latency is shown with units next to the expectation")
    func latency() throws {
        let expression = try Expression.parseCondition(subject: "p95", "< 500ms", at: base)
        #expect(expression.explain(in: DictionaryScope(["p95": .number(0.612)])) == "p95 = 612ms; expected p95 < 500ms")
        #expect(expression.explain(in: DictionaryScope(["p95": .number(1.25)])) == "p95 = 1.25s; expected p95 < 500ms")
        #expect(expression.explain(in: DictionaryScope(["p95": .number(0.00042)])) == "p95 = 420µs; expected p95 < 500ms")
    }

    @Test("rates are shown as percentages, sizes in bytes, other numbers plainly")
    func quantities() throws {
        let expression = try parse("error_rate < 1% and steps.backup.size > 1MB and value >= 5")
        let scope = DictionaryScope(["error_rate": .number(0.025), "steps.backup.size": .number(2_500_000), "value": .number(4)])
        #expect(expression.explain(in: scope) == "error_rate = 2.5%, steps.backup.size = 2.5MB, value = 4; expected error_rate < 1% and steps.backup.size > 1MB and value >= 5")
    }

    @Test("missing values say no data")
    func noData() throws {
        let expression = try parse("p99 < 1s and max < 2s")
        #expect(expression.explain(in: DictionaryScope(["max": .number(3)])) == "p99 = no data, max = 3s; expected p99 < 1s and max < 2s")
    }

    @Test("paths show what they matched; type mismatches are appended")
    func paths() throws {
        let doc = json(#"{"status": "down", "services": {"a": {"latency": 0.004}, "b": {"latency": 0.2}}}"#)
        #expect(try parse("$.status == 'healthy'").explain(in: DictionaryScope(document: doc)) == #"$.status = "down"; expected $.status == 'healthy'"#)
        #expect(try parse("all($.services.*.latency < 50ms)").explain(in: DictionaryScope(document: doc)) == "$.services.*.latency = [4ms, 200ms]; expected all($.services.*.latency < 50ms)")
        #expect(try parse("$.status == 1").explain(in: DictionaryScope(document: doc)) == #"$.status = "down"; expected $.status == 1 (cannot compare string "down" with number 1 using '=='; convert the string with number(...))"#)
    }

    @Test("an expression without names just states the expectation")
    func constant() throws {
        #expect(try parse("1 < 2").explain(in: DictionaryScope()) == "expected 1 < 2")
    }
}
