/// The built-in functions; parse-time checks use the arity so mistakes surface in `marshal validate`.
enum Function: String, Sendable, Hashable, CaseIterable {
    case all, any, len, contains, matches, min, max, number
    /// Over a gate's window (`over:`): the change of a named value, and that change per second.
    case delta, rate

    /// Functions of a named value over the gate's window rather than of a value.
    var isWindowed: Bool { self == .delta || self == .rate }

    static let list = allCases.map(\.rawValue).joined(separator: ", ")

    /// Accepted argument counts; `min`/`max` take one list or several numbers.
    var arity: ClosedRange<Int> {
        switch self {
        case .all, .any, .len, .number, .delta, .rate: 1...1
        case .contains, .matches: 2...2
        case .min, .max: 1...Int.max
        }
    }
}

/// The parsed form of an expression. `and`/`or` are n-ary so long chains do not deepen the tree.
indirect enum Node: Sendable, Hashable {
    case literal(ExprValue)
    case name(String)
    case path(JSONPath)
    case list([Node])
    case not(Node)
    case and([Node])
    case or([Node])
    case compare(ComparisonOperator, Node, Node)
    case membership(Node, Node)
    case call(Function, [Node])
    /// `first op₁ t₁ op₂ t₂ …` at one precedence level, evaluated left to right; n-ary so a long
    /// sum does not deepen the tree.
    case arithmetic(Node, [ArithmeticTerm])
    case negate(Node)
}

struct ArithmeticTerm: Sendable, Hashable {
    var op: ArithmeticOperator
    var operand: Node
}

/// Recursive descent over the tokens; precedence from loosest: or, and, not, comparison/in,
/// `+ -`, `* /`, unary `-`, primary.
struct Parser {
    /// Nesting beyond this is refused so hostile input cannot exhaust the stack.
    static let maxDepth = 64

    private let tokens: [Token]
    private var index = 0
    private var depth = 0

    typealias Failure = Lexer.Failure

    init(tokens: [Token]) {
        self.tokens = tokens
    }

    private var current: Token { tokens[Swift.min(index, tokens.count - 1)] }
    private var previous: Token? { index > 0 ? tokens[index - 1] : nil }

    private mutating func advance() -> Token {
        let token = current
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    /// Parses a whole expression; `subject`, when given, is the left side of a leading comparison.
    mutating func parseAll(subject: Node? = nil) throws(Failure) -> Node {
        if current.kind == .end, subject == nil {
            throw Failure(offset: current.offset, message: "the expression is empty")
        }
        let node = try parseOr(first: subject)
        try expectEnd()
        return node
    }

    private mutating func expectEnd() throws(Failure) {
        let token = current
        switch token.kind {
        case .end:
            return
        case .rightParen:
            throw Failure(offset: token.offset, message: "unbalanced ')'")
        case .rightBracket:
            throw Failure(offset: token.offset, message: "unbalanced ']'")
        case .name(let name) where Parser.isUnitName(name):
            if let number = previous, Parser.isNumber(number) {
                throw Failure(offset: token.offset, message: "write units without a space: '\(number.text)\(name)'")
            }
            fallthrough
        default:
            throw Failure(offset: token.offset, message: "unexpected \(Parser.describe(token)) after a complete expression; join conditions with 'and' or 'or'")
        }
    }

    private mutating func parseOr(first: Node?) throws(Failure) -> Node { try parseJoined(by: .or, first: first) }

    /// Operands of the next tighter level joined by one connective: `or` binds loosest, then `and`, then `not`.
    private mutating func parseJoined(by connective: TokenKind, first: Node?) throws(Failure) -> Node {
        var operands = [try parseOperand(of: connective, first: first)]
        while current.kind == connective {
            _ = advance()
            operands.append(try parseOperand(of: connective, first: nil))
        }
        if operands.count == 1 { return operands[0] }
        return connective == .or ? .or(operands) : .and(operands)
    }

    private mutating func parseOperand(of connective: TokenKind, first: Node?) throws(Failure) -> Node {
        connective == .or ? try parseJoined(by: .and, first: first) : try parseNot(first: first)
    }

    private mutating func parseNot(first: Node?) throws(Failure) -> Node {
        if first == nil, current.kind == .not {
            let token = advance()
            try enter(at: token)
            defer { depth -= 1 }
            return .not(try parseNot(first: nil))
        }
        return try parseComparison(first: first)
    }

    private mutating func parseComparison(first: Node?) throws(Failure) -> Node {
        let left = try parseAdditive(first: first)
        let token = current
        let result: Node
        switch token.kind {
        case .comparison(let op):
            _ = advance()
            result = .compare(op, left, try parseAdditive(first: nil))
        case .in:
            _ = advance()
            result = .membership(left, try parseAdditive(first: nil))
        case .not where tokens.indices.contains(index + 1) && tokens[index + 1].kind == .in:
            // `x not in [..]` reads naturally; treat it as `not (x in [..])`.
            _ = advance()
            _ = advance()
            result = .not(.membership(left, try parseAdditive(first: nil)))
        default:
            return left
        }
        switch current.kind {
        case .comparison, .in:
            throw Failure(offset: current.offset, message: "comparisons cannot be chained; join them with 'and', e.g. 'a < b and b < c'")
        default:
            return result
        }
    }

    /// `a + b - c`: terms of `*` and `/`, left to right.
    private mutating func parseAdditive(first: Node?) throws(Failure) -> Node { try parseTerms(additive: true, first: first) }

    /// One level of arithmetic: `+`/`-` over terms of the tighter `*`/`/` level, whose terms are unary operands.
    private mutating func parseTerms(additive: Bool, first: Node?) throws(Failure) -> Node {
        let head = try parseTerm(additive: additive, first: first)
        var terms: [ArithmeticTerm] = []
        var operatorTokens: [Token] = []
        while case .arithmetic(let op) = current.kind, op.isAdditive == additive {
            let token = advance()
            let operand = try parseTerm(additive: additive, first: nil)
            try Parser.checkNumeric(operand, of: token)
            if op == .divide, case .literal(.number(let divisor)) = operand, divisor == 0 {
                throw Failure(offset: token.offset, message: "division by zero: the divisor is the literal 0")
            }
            terms.append(ArithmeticTerm(op: op, operand: operand))
            operatorTokens.append(token)
        }
        if terms.isEmpty { return head }
        try Parser.checkNumeric(head, of: operatorTokens[0])
        return .arithmetic(head, terms)
    }

    private mutating func parseTerm(additive: Bool, first: Node?) throws(Failure) -> Node {
        if additive { return try parseTerms(additive: false, first: first) }
        if let first { return first }
        return try parseUnary()
    }

    /// `-x`: a minus where a value is expected (`-5` is lexed as a number already).
    private mutating func parseUnary() throws(Failure) -> Node {
        if case .arithmetic(.minus) = current.kind {
            let token = advance()
            try enter(at: token)
            defer { depth -= 1 }
            let operand = try parseUnary()
            try Parser.checkNumeric(operand, of: token)
            return .negate(operand)
        }
        return try parseOperand()
    }

    /// Arithmetic is on numbers: a literal string, boolean, null or list next to `+ - * /` is
    /// refused here rather than at run time.
    private static func checkNumeric(_ node: Node, of token: Token) throws(Failure) {
        let kind: String
        switch node {
        case .literal(.string): kind = "a string"
        case .literal(.bool): kind = "a boolean"
        case .literal(.null): kind = "null"
        case .list: kind = "a list"
        case .compare, .membership, .and, .or, .not: kind = "a condition"
        default: return
        }
        throw Failure(offset: token.offset, message: "'\(token.text)' needs numbers on both sides, not \(kind)")
    }

    private mutating func enter(at token: Token) throws(Failure) {
        depth += 1
        if depth > Parser.maxDepth {
            throw Failure(offset: token.offset, message: "the expression nests more than \(Parser.maxDepth) levels deep")
        }
    }

    /// A value: literal, name, path, list, call or parenthesised expression.
    private mutating func parseOperand() throws(Failure) -> Node {
        let before = previous
        let token = advance()
        switch token.kind {
        case .number(let value): return .literal(.number(value))
        case .string(let value): return .literal(.string(value))
        case .true: return .literal(.bool(true))
        case .false: return .literal(.bool(false))
        case .null: return .literal(.null)
        case .path(let path): return .path(path)
        case .name(let name):
            if current.kind == .leftParen { return try parseCall(name: name, at: token) }
            return .name(name)
        case .leftParen:
            try enter(at: token)
            defer { depth -= 1 }
            let inner = try parseOr(first: nil)
            guard current.kind == .rightParen else {
                if current.kind == .end { throw Failure(offset: token.offset, message: "unbalanced '('") }
                throw Failure(offset: current.offset, message: "unexpected \(Parser.describe(current)); expected ')' to close the '(' at offset \(token.offset + 1)")
            }
            _ = advance()
            return inner
        case .leftBracket:
            try enter(at: token)
            defer { depth -= 1 }
            let items = try parseArguments(closing: .rightBracket, opener: token)
            return .list(items)
        case .not:
            // `not` in operand position, e.g. `a == not b`: allowed, binds to the next value.
            try enter(at: token)
            defer { depth -= 1 }
            return .not(try parseOperand())
        default:
            throw missingValue(instead: token, before: before)
        }
    }

    /// `before` is the token ahead of the missing value, so the message can name the operator.
    private func missingValue(instead token: Token, before: Token?) -> Failure {
        let found = token.kind == .end ? "the expression ended" : "found \(Parser.describe(token))"
        if let before {
            return Failure(offset: token.offset, message: "expected a value after '\(before.text)' but \(found)")
        }
        if token.kind == .end { return Failure(offset: token.offset, message: "the expression is empty") }
        return Failure(offset: token.offset, message: "expected a value but found \(Parser.describe(token))")
    }

    private mutating func parseCall(name: String, at token: Token) throws(Failure) -> Node {
        guard let function = Function(rawValue: name) else {
            throw Failure(offset: token.offset, message: "unknown function '\(name)'; expected \(Function.list)")
        }
        let opener = advance()
        try enter(at: opener)
        defer { depth -= 1 }
        let arguments = try parseArguments(closing: .rightParen, opener: opener)
        guard function.arity.contains(arguments.count) else {
            let expected = function.arity.lowerBound == function.arity.upperBound
                ? "\(function.arity.lowerBound) argument\(function.arity.lowerBound == 1 ? "" : "s")"
                : "at least \(function.arity.lowerBound) argument"
            throw Failure(offset: token.offset, message: "\(name)() takes \(expected), got \(arguments.count)")
        }
        if function.isWindowed {
            guard case .name = arguments[0] else {
                throw Failure(offset: token.offset, message: "\(name)() takes the name of a measured value, such as \(name)(processed) or \(name)(value)")
            }
        }
        return .call(function, arguments)
    }

    /// Comma-separated expressions up to `closing`; the opener has been consumed.
    private mutating func parseArguments(closing: TokenKind, opener: Token) throws(Failure) -> [Node] {
        var items: [Node] = []
        if current.kind == closing {
            _ = advance()
            return items
        }
        while true {
            items.append(try parseOr(first: nil))
            let token = current
            if token.kind == closing {
                _ = advance()
                return items
            }
            if token.kind == .comma {
                _ = advance()
                continue
            }
            if token.kind == .end { throw Failure(offset: opener.offset, message: "unbalanced '\(opener.text)'") }
            let close = closing == .rightParen ? ")" : "]"
            throw Failure(offset: token.offset, message: "unexpected \(Parser.describe(token)); expected ',' or '\(close)'")
        }
    }

    static func isNumber(_ token: Token) -> Bool {
        if case .number = token.kind { return true }
        return false
    }

    static func isUnitName(_ name: String) -> Bool { Lexer.apply(unit: name, to: 1) != nil && !name.isEmpty }

    static func describe(_ token: Token) -> String {
        token.kind == .end ? "the end of the expression" : "'\(token.text)'"
    }
}
