import MarshalCore
import Testing

@Suite("Threshold conditions")
struct ConditionTests {
    @Test("text starting with a comparison compares the subject")
    func shorthand() throws {
        let condition = try Expression.parseCondition(subject: "p95", "< 500ms", at: base)
        #expect(condition.source == "p95 < 500ms")
        #expect(condition.names == ["p95"])
        #expect(try condition.test(in: DictionaryScope(["p95": .number(0.3)])))
        #expect(try !condition.test(in: DictionaryScope(["p95": .number(0.7)])))
    }

    @Test("every comparison operator, 'in' and 'not in' work as shorthand")
    func operators() throws {
        let scope = DictionaryScope(["status": .number(200)])
        for (text, expected) in [("== 200", true), ("!= 200", false), ("<= 200", true), (">= 201", false), ("> 100", true), ("in [200, 401]", true), ("not in [200]", false)] {
            #expect(try Expression.parseCondition(subject: "status", text, at: base).test(in: scope) == expected, "\(text)")
        }
    }

    @Test("the subject may be a JSON path")
    func pathSubject() throws {
        let condition = try Expression.parseCondition(subject: "$.status", "== 'healthy'", at: base)
        #expect(condition.usesDocument)
        #expect(try condition.test(in: DictionaryScope(document: json(#"{"status":"healthy"}"#))))
    }

    @Test("the shorthand may continue with and/or")
    func continued() throws {
        let condition = try Expression.parseCondition(subject: "p95", "< 500ms and p99 < 1s", at: base)
        #expect(condition.names == ["p95", "p99"])
        #expect(try condition.test(in: DictionaryScope(["p95": .number(0.2), "p99": .number(0.9)])))
    }

    @Test("other text is parsed as a full expression")
    func fullExpression() throws {
        let condition = try Expression.parseCondition(subject: "p95", "p95 < 500ms or p99 < 600ms", at: base)
        #expect(condition.source == "p95 < 500ms or p99 < 600ms")
        #expect(condition.names == ["p95", "p99"])
    }

    @Test("errors point into the condition text")
    func errorColumn() {
        do {
            _ = try Expression.parseCondition(subject: "p95", "< 500mz", at: base)
            Issue.record("expected an error")
        } catch {
            #expect(error.location == base.advanced(by: 2))
            #expect(error.message.hasPrefix("unknown unit 'mz'"))
        }
        do {
            _ = try Expression.parseCondition(subject: "p95", "  <", at: base)
            Issue.record("expected an error")
        } catch {
            #expect(error.location == base.advanced(by: 3))
            #expect(error.message == "expected a value after '<' but the expression ended")
        }
    }

    @Test("a subject that is not a name or path is rejected")
    func badSubject() {
        #expect(throws: ExpressionError.self) { try Expression.parseCondition(subject: "p 95", "< 1", at: base) }
        #expect(throws: ExpressionError.self) { try Expression.parseCondition(subject: "", "< 1", at: base) }
    }
}
