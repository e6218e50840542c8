import Foundation

/// One step of a JSON path after `$`.
enum PathSegment: Sendable, Hashable {
    case key(String)
    case index(Int)
    case wildcard
}

/// A JSON path such as `$.items[0].id`; `text` is how it was written, for messages.
struct JSONPath: Sendable, Hashable {
    var text: String
    var segments: [PathSegment]
    var hasWildcard: Bool { segments.contains(.wildcard) }
}

enum ComparisonOperator: String, Sendable, Hashable {
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
}

enum ArithmeticOperator: String, Sendable, Hashable {
    case plus = "+", minus = "-", times = "*", divide = "/"

    /// `+` and `-`, which bind looser than `*` and `/`.
    var isAdditive: Bool { self == .plus || self == .minus }
}

enum TokenKind: Sendable, Hashable {
    case number(Double)
    case string(String)
    case name(String)
    case path(JSONPath)
    case comparison(ComparisonOperator)
    case arithmetic(ArithmeticOperator)
    case and, or, not, `in`
    case `true`, `false`, null
    case leftParen, rightParen, leftBracket, rightBracket, comma
    case end
}

struct Token: Sendable, Hashable {
    var kind: TokenKind
    /// 0-based character offset into the text the lexer was given.
    var offset: Int
    var text: String
}

/// Splits expression text into tokens; every error carries the character offset of its culprit.
struct Lexer {
    private let characters: [Character]
    private var position = 0

    static let unitList = "ms, s, m, h, %, B, KB, MB, GB, KiB, MiB, GiB; rates as 100/min, 5/s, 1000/h"

    init(_ text: String) {
        characters = Array(text)
    }

    /// A failure with the 0-based offset it refers to; `Parser` turns it into an `ExpressionError`.
    struct Failure: Error {
        var offset: Int
        var message: String
    }

    static func tokenize(_ text: String) throws(Failure) -> [Token] {
        var lexer = Lexer(text)
        var tokens: [Token] = []
        while true {
            let token = try lexer.next(after: tokens.last)
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    /// Whether a token ends a value, so a `-` after it subtracts rather than starts a negative number.
    private static func endsValue(_ token: Token?) -> Bool {
        switch token?.kind {
        case .number?, .string?, .name?, .path?, .rightParen?, .rightBracket?, .true?, .false?, .null?: true
        default: false
        }
    }

    private func peek(_ ahead: Int = 0) -> Character? {
        let index = position + ahead
        return index < characters.count ? characters[index] : nil
    }

    private func text(from start: Int) -> String { String(characters[start..<position]) }

    private static func isNameStart(_ c: Character) -> Bool { c == "_" || (c.isASCII && c.isLetter) }
    private static func isNameBody(_ c: Character) -> Bool { c == "_" || (c.isASCII && (c.isLetter || c.isNumber)) }
    private static func isDigit(_ c: Character) -> Bool { c.isASCII && c.isNumber }

    mutating func next(after previous: Token? = nil) throws(Failure) -> Token {
        while let c = peek(), c.isWhitespace { position += 1 }
        let start = position
        guard let c = peek() else { return Token(kind: .end, offset: start, text: "") }

        func single(_ kind: TokenKind, length: Int = 1) -> Token {
            position += length
            return Token(kind: kind, offset: start, text: text(from: start))
        }

        switch c {
        case "(": return single(.leftParen)
        case ")": return single(.rightParen)
        case "[": return single(.leftBracket)
        case "]": return single(.rightBracket)
        case ",": return single(.comma)
        case "=":
            if peek(1) == "=" { return single(.comparison(.equal), length: 2) }
            throw Failure(offset: start, message: "'=' is not an operator; use '==' to compare")
        case "!":
            if peek(1) == "=" { return single(.comparison(.notEqual), length: 2) }
            return single(.not)
        case "<":
            if peek(1) == "=" { return single(.comparison(.lessOrEqual), length: 2) }
            if peek(1) == ">" { throw Failure(offset: start, message: "'<>' is not an operator; use '!=' for not equal") }
            return single(.comparison(.less))
        case ">":
            if peek(1) == "=" { return single(.comparison(.greaterOrEqual), length: 2) }
            return single(.comparison(.greater))
        case "&":
            if peek(1) == "&" { return single(.and, length: 2) }
            throw Failure(offset: start, message: "'&' is not an operator; use 'and' (or '&&')")
        case "|":
            if peek(1) == "|" { return single(.or, length: 2) }
            throw Failure(offset: start, message: "'|' is not an operator; use 'or' (or '||')")
        case "\"", "'":
            return try lexString()
        case "$":
            return try lexPath()
        case "+": return single(.arithmetic(.plus))
        case "*": return single(.arithmetic(.times))
        case "/": return single(.arithmetic(.divide))
        case "-":
            if let before = previous, case .name(let name) = before.kind, before.offset + before.text.count == start,
               let next = peek(1), Lexer.isNameStart(next) {
                // `error-rate` is far more often a misspelt `error_rate` than a subtraction.
                let word = name + "-" + String(characters[(start + 1)...].prefix(while: Lexer.isNameBody))
                throw Failure(offset: start, message: "unexpected '-' in '\(word)': names use '_' (\(word.replacingOccurrences(of: "-", with: "_"))); to subtract, write spaces around '-'")
            }
            if !Lexer.endsValue(previous), let next = peek(1), Lexer.isDigit(next) { return try lexNumber() }
            return single(.arithmetic(.minus))
        default:
            if Lexer.isDigit(c) { return try lexNumber() }
            if Lexer.isNameStart(c) { return lexName() }
            if c == "." , let next = peek(1), Lexer.isDigit(next) {
                throw Failure(offset: start, message: "write decimals with a leading digit: '0\(String(characters[start...].prefix(while: { !$0.isWhitespace })))'")
            }
            throw Failure(offset: start, message: "unexpected character '\(c)'")
        }
    }

    private mutating func lexNumber() throws(Failure) -> Token {
        let start = position
        if peek() == "-" { position += 1 }
        while let c = peek(), Lexer.isDigit(c) { position += 1 }
        if peek() == ".", let next = peek(1), Lexer.isDigit(next) {
            position += 1
            while let c = peek(), Lexer.isDigit(c) { position += 1 }
        }
        if let e = peek(), e == "e" || e == "E" {
            var ahead = 1
            if let sign = peek(1), sign == "+" || sign == "-" { ahead = 2 }
            if let digit = peek(ahead), Lexer.isDigit(digit) {
                position += ahead
                while let c = peek(), Lexer.isDigit(c) { position += 1 }
            }
        }
        let digits = text(from: start)
        guard let magnitude = Double(digits) else {
            throw Failure(offset: start, message: "'\(digits)' is not a number")
        }
        let unitStart = position
        while let c = peek(), c.isLetter || c == "%" { position += 1 }
        let unit = text(from: unitStart)
        let whole = text(from: start)
        if peek() == "." {
            throw Failure(offset: start, message: "'\(whole).' is not a number")
        }
        if let c = peek(), Lexer.isNameBody(c) {
            throw Failure(offset: start, message: "'\(whole)\(c)…' is not a number; names cannot start with a digit")
        }
        guard var value = Lexer.apply(unit: unit, to: magnitude) else {
            throw Failure(offset: start, message: "unknown unit '\(unit)' in '\(whole)' (expected \(Lexer.unitList))")
        }
        // A rate such as `100/min` or `5/s`: per second, as `rate(...)` measures it.
        if peek() == "/", let per = perTimeUnit(at: position + 1) {
            position += 1 + per.length
            value /= per.seconds
        }
        return Token(kind: .number(value), offset: start, text: text(from: start))
    }

    /// `s`, `min`, `m` or `h` right after a number's `/`, as a whole word (not `min(`, not `secs`).
    private func perTimeUnit(at index: Int) -> (length: Int, seconds: Double)? {
        for (word, seconds) in [("min", 60.0), ("s", 1.0), ("m", 60.0), ("h", 3600.0)] {
            let end = index + word.count
            guard end <= characters.count, String(characters[index..<end]) == word else { continue }
            if end < characters.count, Lexer.isNameBody(characters[end]) || characters[end] == "(" || characters[end] == "." { continue }
            return (word.count, seconds)
        }
        return nil
    }

    /// Normalises a quantity: durations to seconds, percentages to fractions, sizes to bytes.
    /// Sub-unit scales divide rather than multiply so that `500ms` is exactly 0.5.
    static func apply(unit: String, to value: Double) -> Double? {
        switch unit {
        case "": value
        case "us", "µs", "μs": value / 1_000_000
        case "ms": value / 1000
        case "s": value
        case "m", "min": value * 60
        case "h": value * 3600
        case "%": value / 100
        case "B": value
        case "KB": value * 1000
        case "MB": value * 1_000_000
        case "GB": value * 1_000_000_000
        case "KiB": value * 1024
        case "MiB": value * 1024 * 1024
        case "GiB": value * 1024 * 1024 * 1024
        default: nil
        }
    }

    private mutating func lexName() -> Token {
        let start = position
        var dotted = false
        while let c = peek() {
            if Lexer.isNameBody(c) {
                position += 1
            } else if c == ".", let next = peek(1), Lexer.isNameBody(next) {
                dotted = true
                position += 1
            } else if c == "-", dotted, let next = peek(1), Lexer.isNameBody(next) {
                // Step ids may contain hyphens (`steps.db-backup.path`); the first segment may not,
                // so `a-1` reads as an error rather than a surprising name.
                position += 1
            } else {
                break
            }
        }
        let name = text(from: start)
        let kind: TokenKind = switch name {
        case "and": .and
        case "or": .or
        case "not": .not
        case "in": .in
        case "true": .true
        case "false": .false
        case "null": .null
        default: .name(name)
        }
        return Token(kind: kind, offset: start, text: name)
    }

    private mutating func lexString() throws(Failure) -> Token {
        let start = position
        let quote = characters[position]
        position += 1
        var value = ""
        while let c = peek() {
            position += 1
            if c == quote { return Token(kind: .string(value), offset: start, text: text(from: start)) }
            if c == "\\" {
                guard let escaped = peek() else { break }
                switch escaped {
                case "\"", "'", "\\": value.append(escaped)
                case "n": value.append("\n")
                case "t": value.append("\t")
                default:
                    throw Failure(offset: position - 1, message: "unknown escape '\\\(escaped)' in string; use '\\\\' for a backslash")
                }
                position += 1
            } else {
                value.append(c)
            }
        }
        throw Failure(offset: start, message: "unterminated string; add the closing \(quote)")
    }

    private mutating func lexPath() throws(Failure) -> Token {
        let start = position
        position += 1
        var segments: [PathSegment] = []
        while let c = peek() {
            if c == "." {
                let dot = position
                position += 1
                if peek() == "*" {
                    position += 1
                    segments.append(.wildcard)
                    continue
                }
                let keyStart = position
                while let k = peek(), Lexer.isNameBody(k) || k == "-" { position += 1 }
                if keyStart == position {
                    throw Failure(offset: dot, message: "expected a key after '.' in JSON path '\(text(from: start))'")
                }
                segments.append(.key(text(from: keyStart)))
            } else if c == "[" {
                let bracket = position
                position += 1
                while let w = peek(), w.isWhitespace { position += 1 }
                guard let first = peek() else {
                    throw Failure(offset: bracket, message: "unbalanced '[' in JSON path '\(text(from: start))'")
                }
                if first == "*" {
                    position += 1
                    segments.append(.wildcard)
                } else if first == "\"" || first == "'" {
                    let token = try lexString()
                    guard case .string(let key) = token.kind else { break }
                    segments.append(.key(key))
                } else if first == "-" || Lexer.isDigit(first) {
                    let numberStart = position
                    if first == "-" { position += 1 }
                    while let d = peek(), Lexer.isDigit(d) { position += 1 }
                    guard let index = Int(text(from: numberStart)) else {
                        throw Failure(offset: numberStart, message: "'\(text(from: numberStart))' is not a list index")
                    }
                    segments.append(.index(index))
                } else {
                    throw Failure(offset: position, message: "expected an index, '*' or a quoted key after '[' in JSON path")
                }
                while let w = peek(), w.isWhitespace { position += 1 }
                guard peek() == "]" else {
                    throw Failure(offset: bracket, message: "unbalanced '[' in JSON path '\(text(from: start))'")
                }
                position += 1
            } else {
                break
            }
        }
        if let c = peek(), Lexer.isNameBody(c) {
            throw Failure(offset: position, message: "expected '.' or '[' after '$' in a JSON path, e.g. '$.\(c)…'")
        }
        let source = text(from: start)
        return Token(kind: .path(JSONPath(text: source, segments: segments)), offset: start, text: source)
    }
}
