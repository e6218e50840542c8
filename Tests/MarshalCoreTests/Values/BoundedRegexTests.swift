import Foundation
import MarshalCore
import Testing

/// Regular expressions run with a time budget: ICU backtracks, and a hostile pattern over a
/// near-miss input would otherwise run for minutes (issue 12, item 11).
@Suite("Regex with a time budget")
struct BoundedRegexTests {
    @Test("(a+)+$ over 43 a's and ! gives up after its budget instead of running for minutes")
    func catastrophic() throws {
        let regex = try NSRegularExpression(pattern: "(a+)+$")
        let text = String(repeating: "a", count: 43) + "!"
        let started = ContinuousClock.now
        guard case .overBudget(let budget) = BoundedRegex.firstMatch(regex, in: text, budget: .milliseconds(200)) else {
            Issue.record("expected the search to be given up")
            return
        }
        #expect(budget == .milliseconds(200))
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test("ordinary searches match or miss as NSRegularExpression does")
    func ordinary() throws {
        let regex = try NSRegularExpression(pattern: "depth: ([0-9]+)")
        guard case .match(let match) = BoundedRegex.firstMatch(regex, in: "queue depth: 42\n") else {
            Issue.record("expected a match")
            return
        }
        #expect(match.range(at: 1) == NSRange(location: 13, length: 2))
        guard case .noMatch = BoundedRegex.firstMatch(regex, in: "nothing here") else {
            Issue.record("expected no match")
            return
        }
    }

    @Test("matches() in an expression stops too, with an error naming the pattern")
    func inExpressions() throws {
        let expression = try Expression.parse("matches(body, '(a+)+$')", at: SourceLocation(file: "t", line: 1, column: 1))
        let scope = DictionaryScope(["body": .string(String(repeating: "a", count: 40) + "!")])
        let started = ContinuousClock.now
        #expect(throws: EvaluationError.self) { try expression.evaluate(in: scope) }
        #expect(ContinuousClock.now - started < .seconds(5))
    }
}

@Suite("Names that can have a value")
struct UnknownNameTests {
    let start = SourceLocation(file: "f.yml", line: 3, column: 10)

    @Test("the first unknown name is found with its column; function names and known names pass")
    func unknown() {
        let known: (String) -> Bool = { ["p95", "p99"].contains($0) }
        let found = Expression.unknownName(in: "< fast", at: start, isKnown: known)
        #expect(found?.name == "fast")
        #expect(found?.location == SourceLocation(file: "f.yml", line: 3, column: 12))
        #expect(Expression.unknownName(in: "< 500ms", at: start, isKnown: known) == nil)
        #expect(Expression.unknownName(in: "p95 < p99 and max(p95, p99) < 1s", at: start, isKnown: known) == nil)
    }
}
