import MarshalCore
import Testing

/// Where test expressions pretend to live: line 7, starting at column 12 of a runbook.
let base = SourceLocation(file: "runbook.yml", line: 7, column: 12)

func parse(_ text: String) throws(ExpressionError) -> Expression {
    try Expression.parse(text, at: base)
}

/// The error parsing `text` raises, or nil (recorded as a test failure) if it parses.
func parseError(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> ExpressionError? {
    do {
        let expression = try Expression.parse(text, at: base)
        Issue.record("expected '\(text)' to be rejected, but it parsed as \(expression)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// Asserts that `text` fails at the column marked by `^` in `marker` and that the message contains `message`.
func expectError(_ text: String, at marker: String, _ message: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    guard let error = parseError(text, sourceLocation: sourceLocation) else { return }
    let offset = Array(marker).firstIndex(of: "^") ?? -1
    #expect(error.location == base.advanced(by: offset), "\(error.message)", sourceLocation: sourceLocation)
    #expect(error.message.contains(message), "got: \(error.message)", sourceLocation: sourceLocation)
}

func evaluate(_ text: String, _ values: [String: ExprValue] = [:], document: ExprValue? = nil) throws -> ExprValue {
    try parse(text).evaluate(in: DictionaryScope(values, document: document))
}

func holds(_ text: String, _ values: [String: ExprValue] = [:], document: ExprValue? = nil) throws -> Bool {
    try parse(text).test(in: DictionaryScope(values, document: document))
}

/// The evaluation error for `text`, or nil if it evaluated.
func evaluationError(_ text: String, _ values: [String: ExprValue] = [:], document: ExprValue? = nil) throws -> EvaluationError? {
    let expression = try parse(text)
    do {
        _ = try expression.evaluate(in: DictionaryScope(values, document: document))
        return nil
    } catch {
        return error
    }
}

func json(_ text: String) -> ExprValue {
    ExprValue.fromJSON(Array(text.utf8)) ?? .string("<not JSON: \(text)>")
}
