import MarshalCore
import Testing

@Suite("Expression evaluation")
struct EvaluationTests {
    static let health = json(#"""
    {"status": "healthy", "version": "1.4.2", "uptime": 3600,
     "services": {"redis": {"status": "up", "latency": 0.002}, "db": {"status": "up", "latency": 0.010}},
     "items": [{"id": 7, "tags": ["a", "b"]}, {"id": 9, "tags": []}],
     "weird key": true, "nothing": null}
    """#)

    @Test("comparisons of numbers, strings, booleans and null")
    func comparisons() throws {
        #expect(try holds("value >= 5", ["value": .number(5)]))
        #expect(try holds("value != 5", ["value": .number(6)]))
        #expect(try holds("value > 5 and value <= 6", ["value": .number(6)]))
        #expect(try holds("name == 'web-1' and name < 'web-2'", ["name": .string("web-1")]))
        #expect(try holds("ok == true and not (ok != true)", ["ok": .bool(true)]))
        #expect(try holds("x == null", ["x": .null]))
        #expect(try holds("x != null", ["x": .number(0)]))
        #expect(try holds("[1, 2] == [1, 2] and [1] != [2]"))
    }

    @Test("comparing a string with a number is a type mismatch naming both")
    func mismatch() throws {
        let error = try evaluationError("status == 200", ["status": .string("200")])
        #expect(error == .typeMismatch(#"cannot compare string "200" with number 200 using '=='; convert the string with number(...)"#))
        #expect(try holds("number(status) == 200", ["status": .string("200")]))
        guard case .typeMismatch(let message)? = try evaluationError("ok < 1", ["ok": .bool(true)]) else {
            Issue.record("expected a type mismatch")
            return
        }
        #expect(message.contains("boolean true") && message.contains("number 1"))
    }

    @Test("a missing name is no data, never false")
    func missingName() throws {
        #expect(try evaluationError("p95 < 500ms") == .noData("no value for 'p95'"))
        #expect(throws: EvaluationError.self) { try holds("not (p95 < 500ms)") }
    }

    @Test("a dotted name falls back to descending into an object the scope gives for its prefix")
    func dottedFallback() throws {
        let steps: [String: ExprValue] = ["steps.backup": json(#"{"size": 2048, "path": "/var/backups/x.sql", "files": ["a"]}"#)]
        #expect(try holds("steps.backup.size > 1KB and steps.backup.files.0 == 'a'", steps))
        #expect(try evaluationError("steps.backup.missing", steps) == .noData("no value for 'steps.backup.missing'"))
        #expect(try holds("steps.backup.size == 1", ["steps.backup": .object([:]), "steps.backup.size": .number(1)]))
    }

    @Test("and/or short-circuit, so a guard can protect a missing value")
    func shortCircuit() throws {
        #expect(try !holds("false and p95 < 1"))
        #expect(try holds("true or p95 < 1"))
        #expect(try evaluationError("true and p95 < 1") == .noData("no value for 'p95'"))
    }

    @Test("JSON paths: keys, nesting, indexes, quoted keys and the whole document")
    func jsonPaths() throws {
        let doc = Self.health
        #expect(try evaluate("$.status", document: doc) == .string("healthy"))
        #expect(try evaluate("$.services.redis.status", document: doc) == .string("up"))
        #expect(try evaluate("$.items[0].id", document: doc) == .number(7))
        #expect(try evaluate("$.items[-1].id", document: doc) == .number(9))
        #expect(try evaluate("$.items[1]['id']", document: doc) == .number(9))
        #expect(try evaluate(#"$["weird key"]"#, document: doc) == .bool(true))
        #expect(try evaluate("$.nothing", document: doc) == .null)
        #expect(try evaluate("$", document: .number(3)) == .number(3))
        #expect(try holds("$.status == 'healthy' and $.uptime >= 1h", document: doc))
        #expect(try holds("len($.items) == 2 and len($.items[0].tags) == 2 and len($) > 3", document: doc))
    }

    @Test("a wildcard path yields a list; all() and any() reduce element-wise comparisons")
    func wildcards() throws {
        let doc = Self.health
        #expect(try evaluate("$.services.*.status", document: doc) == .array([.string("up"), .string("up")]))
        #expect(try evaluate("$.items[*].id", document: doc) == .array([.number(7), .number(9)]))
        #expect(try evaluate("$.services.*.status == 'up'", document: doc) == .array([.bool(true), .bool(true)]))
        #expect(try holds("all($.services.*.status == 'up')", document: doc))
        #expect(try holds("all($.services.*.latency < 20ms)", document: doc))
        #expect(try !holds("all($.services.*.latency < 5ms)", document: doc))
        #expect(try holds("any($.services.*.latency < 5ms)", document: doc))
        #expect(try holds("all($.items.*.id in [7, 9])", document: doc))
        #expect(try holds("max($.items.*.id) == 9 and min($.items.*.id) == 7", document: doc))
    }

    @Test("a list used directly as a condition must be wrapped in all() or any()")
    func listAsCondition() throws {
        let expression = try parse("$.services.*.status == 'up'")
        #expect(throws: EvaluationError.self) { try expression.test(in: DictionaryScope(document: Self.health)) }
    }

    @Test("a path that matches nothing, or no document at all, is no data")
    func pathNoData() throws {
        #expect(try evaluationError("$.missing", document: Self.health) == .noData("nothing at '$.missing' in the JSON document"))
        #expect(try evaluationError("$.items[5].id", document: Self.health) == .noData("nothing at '$.items[5].id' in the JSON document"))
        #expect(try evaluationError("$.status.deeper", document: Self.health) != nil)
        #expect(try evaluationError("all($.items.*.missing == 1)", document: Self.health) == .noData("nothing at '$.items.*.missing' in the JSON document"))
        guard case .noData? = try evaluationError("$.status == 'ok'") else {
            Issue.record("expected no data without a document")
            return
        }
    }

    @Test("in: list membership, substring, object keys; not in")
    func membership() throws {
        #expect(try holds("status in [200, 401]", ["status": .number(401)]))
        #expect(try !holds("status in [200, 401]", ["status": .number(500)]))
        #expect(try holds("status not in [500, 502]", ["status": .number(200)]))
        #expect(try holds("'ready' in body", ["body": .string("server ready, listening")]))
        #expect(try holds("'redis' in $.services", document: Self.health))
        #expect(try evaluate("codes in [200]", ["codes": .array([.number(200), .number(500)])]) == .array([.bool(true), .bool(false)]))
        #expect(throws: EvaluationError.self) { try holds("1 in 'abc'") }
    }

    @Test("functions: len, contains, matches, min, max, number")
    func functions() throws {
        let values: [String: ExprValue] = ["body": .string("version 1.4.2 OK"), "rows": .array([.number(3), .number(1), .number(2)])]
        #expect(try evaluate("len(body)", values) == .number(16))
        #expect(try evaluate("len(rows)", values) == .number(3))
        #expect(try holds("contains(body, 'OK') and contains(rows, 2) and not contains(rows, 9)", values))
        #expect(try holds(#"matches(body, "^version [0-9]+\\.[0-9]+")"#, values))
        #expect(try !holds("matches(body, 'nope')", values))
        #expect(try evaluate("min(rows)", values) == .number(1))
        #expect(try evaluate("max(rows)", values) == .number(3))
        #expect(try evaluate("max(1, 5, 2)") == .number(5))
        #expect(try evaluate("number(' 42 ')") == .number(42))
        #expect(try evaluate("number('-1.5')") == .number(-1.5))
        #expect(try evaluate("number('250ms')") == .number(0.25))
        #expect(try evaluate("number(7)") == .number(7))
        #expect(try evaluationError("number('abc')") == .typeMismatch(#"cannot read string "abc" as a number"#))
        #expect(try evaluationError("matches(body, '(')", values) == .invalid("'(' is not a valid regular expression"))
        #expect(try evaluationError("min([])") == .noData("min() of an empty list"))
        #expect(try evaluationError("len(3)") != nil)
        #expect(try evaluationError("all(3)") != nil)
        #expect(try holds("all([]) and not any([])"))
    }

    @Test("a bare value is tested for truthiness")
    func truthiness() throws {
        #expect(try holds("ready", ["ready": .bool(true)]))
        #expect(try !holds("ready", ["ready": .number(0)]))
        #expect(try holds("$.status", document: Self.health))
        #expect(try !holds("$.nothing", document: Self.health))
        #expect(try holds("count", ["count": .number(3)]))
        #expect(try !holds("out", ["out": .string("")]))
    }

    @Test("an expression is a Sendable, Hashable value")
    func valueSemantics() throws {
        #expect(try parse("a < 1") == parse("a < 1"))
        #expect(try parse("a < 1") != parse("a < 2"))
        let set: Set<Expression> = [try parse("a"), try parse("a"), try parse("b")]
        #expect(set.count == 2)
    }
}
