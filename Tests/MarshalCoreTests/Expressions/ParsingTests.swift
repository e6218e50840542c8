import MarshalCore
import Testing

@Suite("Expression parsing")
struct ParsingTests {
    @Test("not binds tighter than and, and tighter than or: not a or b and c")
    func precedence() throws {
        let expression = try parse("not a or b and c")
        for bits in 0..<8 {
            let (a, b, c) = (bits & 1 != 0, bits & 2 != 0, bits & 4 != 0)
            let scope = DictionaryScope(["a": .bool(a), "b": .bool(b), "c": .bool(c)])
            #expect(try expression.test(in: scope) == ((!a) || (b && c)), "a=\(a) b=\(b) c=\(c)")
        }
    }

    @Test("parentheses override precedence")
    func parentheses() throws {
        let expression = try parse("not (a or b) and c")
        for bits in 0..<8 {
            let (a, b, c) = (bits & 1 != 0, bits & 2 != 0, bits & 4 != 0)
            let scope = DictionaryScope(["a": .bool(a), "b": .bool(b), "c": .bool(c)])
            #expect(try expression.test(in: scope) == (!(a || b) && c))
        }
    }

    @Test("&&, || and ! are aliases of and, or, not")
    func aliases() throws {
        let values: [String: ExprValue] = ["a": .bool(true), "b": .bool(false)]
        #expect(try holds("a && !b", values))
        #expect(try holds("b || a", values))
        #expect(try !holds("!a", values))
        #expect(try holds("a and not b", values))
    }

    @Test("comparisons bind tighter than and/or")
    func comparisonPrecedence() throws {
        #expect(try holds("p95 < 500ms and error_rate < 1% or false", ["p95": .number(0.2), "error_rate": .number(0)]))
        #expect(try holds("status == 200 or status == 401", ["status": .number(401)]))
    }

    @Test("names: dotted, digits, underscores, hyphens after the first dot")
    func names() throws {
        let expression = try parse("value >= 5 and steps.backup.size > 0 and p95 < 1s and headers.content_type == 'x' and steps.db-backup.ok")
        #expect(expression.names == ["value", "steps.backup.size", "p95", "headers.content_type", "steps.db-backup.ok"])
        #expect(!expression.usesDocument)
    }

    @Test("JSON paths are not names but set usesDocument")
    func paths() throws {
        let expression = try parse(#"$.status == "healthy" and all($.services.*.up) and $.items[0].id > 0 and $["weird key"] and $ != null and rows > 0"#)
        #expect(expression.names == ["rows"])
        #expect(expression.usesDocument)
    }

    @Test("source is kept for messages and description")
    func source() throws {
        let expression = try parse("  p95 < 500ms  ")
        #expect(expression.source == "p95 < 500ms")
        #expect(expression.description == "p95 < 500ms")
        #expect(expression.location == base)
    }

    @Test("an unknown unit points at the number: p95 < 500mz at column base+6")
    func unknownUnitColumn() {
        let error = parseError("p95 < 500mz")
        #expect(error?.location == SourceLocation(file: "runbook.yml", line: 7, column: 18))
        #expect(error?.message == "unknown unit 'mz' in '500mz' (expected ms, s, m, h, %, B, KB, MB, GB, KiB, MiB, GiB; rates as 100/min, 5/s, 1000/h)")
    }

    @Test("each syntax error names the problem at the exact column")
    func errorColumns() {
        expectError("p95 <", at: "     ^", "expected a value after '<' but the expression ended")
        expectError("p95 < )", at: "      ^", "expected a value after '<' but found ')'")
        expectError("(a and b", at: "^", "unbalanced '('")
        expectError("a and b)", at: "       ^", "unbalanced ')'")
        expectError("avg(x) > 1", at: "^", "unknown function 'avg'; expected all, any, len, contains, matches, min, max, number")
        expectError("status = 200", at: "       ^", "use '=='")
        expectError("a & b", at: "  ^", "use 'and'")
        expectError("a | b", at: "  ^", "use 'or'")
        expectError("name == 'open", at: "        ^", "unterminated string")
        expectError(#"x == "a\qb""#, at: "       ^", "unknown escape '\\q'")
        expectError("a b", at: "  ^", "unexpected 'b' after a complete expression")
        expectError("p95 < 500 ms", at: "          ^", "write units without a space: '500ms'")
        expectError("", at: "^", "the expression is empty")
        expectError("   ", at: "   ^", "the expression is empty")
        expectError("a < b < c", at: "      ^", "comparisons cannot be chained")
        expectError("x # y", at: "  ^", "unexpected character '#'")
        expectError("len(a, b)", at: "^", "len() takes 1 argument, got 2")
        expectError("contains(a)", at: "^", "contains() takes 2 arguments, got 1")
        expectError("x in [1, 2", at: "     ^", "unbalanced '['")
        expectError("x in [1 2]", at: "        ^", "expected ',' or ']'")
        expectError("$.items[0", at: "       ^", "unbalanced '['")
        expectError("$.", at: " ^", "expected a key after '.'")
        expectError("$status", at: " ^", "expected '.' or '['")
        expectError("error-rate < 1", at: "     ^", "unexpected '-'")
        expectError("3x > 1", at: "^", "unknown unit 'x' in '3x'")
        expectError("a == not", at: "        ^", "expected a value after 'not' but the expression ended")
        expectError("<> 3", at: "^", "use '!='")
    }

    @Test("columns count characters, not bytes")
    func unicodeColumns() {
        expectError("name == 'héllo' and t < 5µs and x < 5zz", at: "                                    ^", "unknown unit 'zz'")
    }

    @Test("nesting deeper than 64 levels is an error, not a crash")
    func depthLimit() throws {
        let fine = String(repeating: "(", count: 60) + "a" + String(repeating: ")", count: 60)
        #expect(try holds(fine, ["a": .bool(true)]))
        let deep = String(repeating: "(", count: 5000) + "a" + String(repeating: ")", count: 5000)
        #expect(parseError(deep)?.message.contains("nests more than 64 levels") == true)
        let nots = String(repeating: "not ", count: 1000) + "a"
        #expect(parseError(nots)?.message.contains("nests more than 64 levels") == true)
        let lists = String(repeating: "[", count: 1000)
        #expect(parseError(lists) != nil)
    }

    @Test("long flat chains of and/or do not deepen the tree")
    func longChains() throws {
        let chain = (0..<5000).map { _ in "a" }.joined(separator: " and ")
        #expect(try holds(chain, ["a": .bool(true)]))
        let expression = try parse(chain)
        #expect(expression.names == ["a"])
    }
}
