/// A parsed expectation (`expect`, `until`, `when`, thresholds) in Marshal's small expression language.
public struct Expression: Sendable, Hashable, CustomStringConvertible {
    /// The text as written (for a threshold shorthand: subject and condition, e.g. `p95 < 500ms`).
    public let source: String
    /// Where the expression text starts in its file.
    public let location: SourceLocation
    let root: Node

    public var description: String { source }

    /// For a plain bound such as `p95 < 500ms` or `value > 70%` (a name against a number, either
    /// way round): the name, whether the limit is an upper one, and the limit in base units.
    /// Reports use it to say how far a measured value is from its limit; nil for anything else.
    public var bound: (name: String, isUpper: Bool, limit: Double)? {
        guard case .compare(let op, let left, let right) = root else { return nil }
        switch (left, right) {
        case (.name(let name), .literal(.number(let limit))):
            switch op {
            case .less, .lessOrEqual: return (name, true, limit)
            case .greater, .greaterOrEqual: return (name, false, limit)
            default: return nil
            }
        case (.literal(.number(let limit)), .name(let name)):
            switch op {
            case .greater, .greaterOrEqual: return (name, true, limit)
            case .less, .lessOrEqual: return (name, false, limit)
            default: return nil
            }
        default:
            return nil
        }
    }

    /// Parses `text`; errors point at `location` advanced to the column of the offending token.
    public static func parse(_ text: String, at location: SourceLocation) throws(ExpressionError) -> Expression {
        let root = try parseNode(text, subject: nil, at: location)
        return Expression(source: text.trimmingWhitespace, location: location, root: root)
    }

    /// Parses a threshold such as `p95: "< 500ms"`: text starting with a comparison operator (or `in`)
    /// compares `subject` (a name or JSON path); any other text is parsed as a full expression.
    public static func parseCondition(subject: String, _ text: String, at location: SourceLocation) throws(ExpressionError) -> Expression {
        let tokens: [Token]
        do {
            tokens = try Lexer.tokenize(text)
        } catch {
            throw ExpressionError(location: location.advanced(by: error.offset), message: error.message)
        }
        switch tokens.first?.kind {
        case .comparison?, .in?:
            break
        case .not? where tokens.count > 1 && tokens[1].kind == .in:
            break
        default:
            return try parse(text, at: location)
        }
        let subjectNode = try parseSubject(subject, at: location)
        var parser = Parser(tokens: tokens)
        do {
            let root = try parser.parseAll(subject: subjectNode)
            return Expression(source: "\(subject.trimmingWhitespace) \(text.trimmingWhitespace)", location: location, root: root)
        } catch {
            throw ExpressionError(location: location.advanced(by: error.offset), message: error.message)
        }
    }

    private static func parseSubject(_ subject: String, at location: SourceLocation) throws(ExpressionError) -> Node {
        let tokens = try? Lexer.tokenize(subject)
        switch tokens?.first?.kind {
        case .name(let name)? where tokens?.count == 2:
            return .name(name)
        case .path(let path)? where tokens?.count == 2:
            return .path(path)
        default:
            throw ExpressionError(location: location, message: "'\(subject)' is not a name or JSON path to compare; use a name like p95 or a path like $.status")
        }
    }

    private static func parseNode(_ text: String, subject: Node?, at location: SourceLocation) throws(ExpressionError) -> Node {
        do {
            let tokens = try Lexer.tokenize(text)
            var parser = Parser(tokens: tokens)
            return try parser.parseAll(subject: subject)
        } catch {
            throw ExpressionError(location: location.advanced(by: error.offset), message: error.message)
        }
    }

    /// Every plain name referenced (not JSON paths), in no particular order.
    public var names: Set<String> {
        Set(leaves.compactMap { if case .name(let name) = $0 { name } else { nil } })
    }

    /// Names used inside `delta(...)` or `rate(...)`: values the gate must measure over a window.
    public var windowedNames: Set<String> {
        Set(leaves.compactMap { if case .call(_, let arguments) = $0, case .name(let name)? = arguments.first { name } else { nil } })
    }

    /// True if any `$` path appears, i.e. the expression needs a document.
    public var usesDocument: Bool {
        leaves.contains { if case .path = $0 { true } else { false } }
    }

    /// Names and paths in order of first appearance, without repeats.
    var leaves: [Node] {
        var seen: Set<Node> = []
        var result: [Node] = []
        func visit(_ node: Node) {
            switch node {
            case .name, .path:
                if seen.insert(node).inserted { result.append(node) }
            case .call(let function, _) where function.isWindowed:
                // `rate(processed)` is one measured value, shown as such.
                if seen.insert(node).inserted { result.append(node) }
            case .literal:
                break
            case .arithmetic(let head, let terms):
                visit(head)
                terms.forEach { visit($0.operand) }
            case .negate(let inner):
                visit(inner)
            case .list(let items), .and(let items), .or(let items), .call(_, let items):
                items.forEach(visit)
            case .not(let inner):
                visit(inner)
            case .compare(_, let left, let right), .membership(let left, let right):
                visit(left)
                visit(right)
            }
        }
        visit(root)
        return result
    }

    /// Computes the value; a missing name or path throws `.noData`, never a default.
    public func evaluate(in scope: some ExpressionScope) throws(EvaluationError) -> ExprValue {
        try Evaluator(scope: scope).evaluate(root)
    }

    /// Whether the expression holds. A list result is refused: wrap it in `all(...)` or `any(...)`.
    public func test(in scope: some ExpressionScope) throws(EvaluationError) -> Bool {
        try Semantics.truth(of: evaluate(in: scope), in: "the condition")
    }
}

/// Foundation also declares `Expression`; files importing both can use this name instead of
/// writing `MarshalCore.Expression`.
public typealias MarshalExpression = Expression

extension String {
    var trimmingWhitespace: String {
        let characters = Array(self)
        guard let first = characters.firstIndex(where: { !$0.isWhitespace }),
              let last = characters.lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(characters[first...last])
    }
}
