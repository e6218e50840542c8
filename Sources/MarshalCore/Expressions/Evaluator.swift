import Foundation

/// Walks a parsed expression against a scope. Tree depth is bounded by the parser, so recursion is safe.
struct Evaluator<Scope: ExpressionScope> {
    let scope: Scope

    func evaluate(_ node: Node) throws(EvaluationError) -> ExprValue {
        switch node {
        case .literal(let value):
            return value
        case .name(let name):
            guard let value = lookUp(name) else { throw .noData("no value for '\(name)'" + (scope.whyNoData(name).map { ": \($0)" } ?? "")) }
            return value
        case .path(let path):
            return try Semantics.resolve(path, in: scope.document)
        case .list(let items):
            var values: [ExprValue] = []
            for item in items { values.append(try evaluate(item)) }
            return .array(values)
        case .not(let inner):
            return .bool(!(try Semantics.truth(of: evaluate(inner), in: "'not'")))
        case .and(let operands):
            // Short-circuit so a guard such as `steps.x.ok and steps.x.size > 0` stops at the first false.
            for operand in operands where !(try Semantics.truth(of: evaluate(operand), in: "'and'")) {
                return .bool(false)
            }
            return .bool(true)
        case .or(let operands):
            for operand in operands where try Semantics.truth(of: evaluate(operand), in: "'or'") {
                return .bool(true)
            }
            return .bool(false)
        case .compare(let op, let left, let right):
            return try Semantics.compare(op, evaluate(left), evaluate(right))
        case .membership(let needle, let haystack):
            let haystackValue = try evaluate(haystack)
            let needleValue = try evaluate(needle)
            if case .array(let needles) = needleValue {
                var results: [ExprValue] = []
                for item in needles { results.append(.bool(try Semantics.isMember(item, of: haystackValue))) }
                return .array(results)
            }
            return .bool(try Semantics.isMember(needleValue, of: haystackValue))
        case .call(let function, let arguments) where function.isWindowed:
            guard case .name(let name)? = arguments.first else { throw .invalid("\(function.rawValue)() takes a name") }
            guard let window = scope.window(of: name) else {
                throw .noData("\(function.rawValue)(\(name)): '\(name)' was not measured at both ends of a window (give the gate 'over:')")
            }
            if function == .delta { return .number(window.delta) }
            guard let rate = window.rate else { throw .noData("rate(\(name)): the window has no length") }
            return .number(rate)
        case .arithmetic(let head, let terms):
            var result = try Semantics.number(evaluate(head), for: terms[0].op)
            for term in terms {
                let operand = try Semantics.number(evaluate(term.operand), for: term.op)
                switch term.op {
                case .plus: result += operand
                case .minus: result -= operand
                case .times: result *= operand
                case .divide:
                    // A ratio over nothing (no hits and no misses in the window) measured nothing.
                    guard operand != 0 else { throw .noData("division by zero") }
                    result /= operand
                }
            }
            return .number(result)
        case .negate(let inner):
            return .number(-(try Semantics.number(evaluate(inner), for: .minus)))
        case .call(let function, let arguments):
            var values: [ExprValue] = []
            for argument in arguments { values.append(try evaluate(argument)) }
            return try Semantics.call(function, values)
        }
    }

    /// The scope's value for `name`; failing that, the longest dotted prefix it knows, descended into
    /// by the remaining segments, so a scope may offer `steps.backup` as one object for `steps.backup.size`.
    func lookUp(_ name: String) -> ExprValue? {
        if let value = scope.value(of: name) { return value }
        let segments = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard segments.count > 1 else { return nil }
        for split in stride(from: segments.count - 1, through: 1, by: -1) {
            guard var value = scope.value(of: segments[..<split].joined(separator: ".")) else { continue }
            for segment in segments[split...] {
                switch value {
                case .object(let object):
                    guard let child = object[segment] else { return nil }
                    value = child
                case .array(let items):
                    guard let index = Int(segment), items.indices.contains(index) else { return nil }
                    value = items[index]
                default:
                    return nil
                }
            }
            return value
        }
        return nil
    }
}

/// What the operators and functions mean, independent of where values come from.
enum Semantics {
    /// Truthiness for logic; a list is refused because `$.x.*.ok == true` must say all or any.
    static func truth(of value: ExprValue, in context: String) throws(EvaluationError) -> Bool {
        if case .array(let values) = value {
            let shown = values.count > 8 ? "\(values.count) values" : value.description
            throw .typeMismatch("\(context) got a list (\(shown)); wrap it in all(...) or any(...)")
        }
        return value.isTruthy
    }

    /// An operand of `+ - * /`: a number, or a string that reads as one is still refused (say number(...)).
    static func number(_ value: ExprValue, for op: ArithmeticOperator) throws(EvaluationError) -> Double {
        guard case .number(let number) = value else {
            let hint: String
            if case .string = value { hint = "; convert the string with number(...)" } else { hint = "" }
            throw .typeMismatch("'\(op.rawValue)' needs numbers, got \(show(value))\(hint)")
        }
        return number
    }

    // MARK: JSON paths

    /// A path that matches nothing is no data; a wildcard path yields the list of what it matched.
    static func resolve(_ path: JSONPath, in document: ExprValue?) throws(EvaluationError) -> ExprValue {
        guard let document else { throw .noData("no JSON document for '\(path.text)' (the response was empty or not JSON)") }
        var matches = [document]
        for segment in path.segments {
            var next: [ExprValue] = []
            for value in matches {
                switch (segment, value) {
                case (.key(let key), .object(let object)):
                    if let child = object[key] { next.append(child) }
                case (.index(let index), .array(let items)):
                    let position = index < 0 ? items.count + index : index
                    if items.indices.contains(position) { next.append(items[position]) }
                case (.wildcard, .array(let items)):
                    next.append(contentsOf: items)
                case (.wildcard, .object(let object)):
                    // Dictionaries have no order; sort by key so results and reports are stable.
                    next.append(contentsOf: object.keys.sorted().compactMap { object[$0] })
                default:
                    break
                }
            }
            matches = next
            if matches.isEmpty { throw .noData("nothing at '\(path.text)' in the JSON document") }
        }
        return path.hasWildcard ? .array(matches) : matches[0]
    }

    // MARK: Comparison

    static func compare(_ op: ComparisonOperator, _ left: ExprValue, _ right: ExprValue) throws(EvaluationError) -> ExprValue {
        switch (left, right) {
        case (.array, .array):
            guard op == .equal || op == .notEqual else {
                throw .typeMismatch("cannot compare list \(left) with list \(right) using '\(op.rawValue)'")
            }
            return .bool(looselyEqual(left, right) == (op == .equal))
        case (.array(let items), _):
            var results: [ExprValue] = []
            for item in items { results.append(try compare(op, item, right)) }
            return .array(results)
        case (_, .array(let items)):
            var results: [ExprValue] = []
            for item in items { results.append(try compare(op, left, item)) }
            return .array(results)
        default:
            return .bool(try compareScalars(op, left, right))
        }
    }

    private static func compareScalars(_ op: ComparisonOperator, _ left: ExprValue, _ right: ExprValue) throws(EvaluationError) -> Bool {
        switch (left, right) {
        case (.number(let a), .number(let b)):
            switch op {
            case .equal: return nearlyEqual(a, b)
            case .notEqual: return !nearlyEqual(a, b)
            case .less: return a < b
            case .lessOrEqual: return a <= b || nearlyEqual(a, b)
            case .greater: return a > b
            case .greaterOrEqual: return a >= b || nearlyEqual(a, b)
            }
        case (.string(let a), .string(let b)):
            switch op {
            case .equal: return a == b
            case .notEqual: return a != b
            case .less: return a < b
            case .lessOrEqual: return a <= b
            case .greater: return a > b
            case .greaterOrEqual: return a >= b
            }
        case (.null, _), (_, .null):
            if op == .equal { return left == right }
            if op == .notEqual { return left != right }
        case (.bool(let a), .bool(let b)):
            if op == .equal { return a == b }
            if op == .notEqual { return a != b }
        case (.object, .object):
            if op == .equal { return left == right }
            if op == .notEqual { return left != right }
        default:
            break
        }
        var hint = ""
        switch (left, right) {
        case (.string, .number), (.number, .string):
            hint = "; convert the string with number(...)"
        default:
            break
        }
        throw .typeMismatch("cannot compare \(show(left)) with \(show(right)) using '\(op.rawValue)'\(hint)")
    }

    /// Equality with a relative tolerance, so `0.1 + 0.2`-style rounding never flips a gate.
    private static func nearlyEqual(_ a: Double, _ b: Double) -> Bool {
        if a == b { return true }
        return abs(a - b) <= 1e-12 * Swift.max(abs(a), abs(b))
    }

    /// Structural equality where numbers compare with tolerance; kinds that differ are simply unequal.
    static func looselyEqual(_ left: ExprValue, _ right: ExprValue) -> Bool {
        switch (left, right) {
        case (.number(let a), .number(let b)): return nearlyEqual(a, b)
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { looselyEqual($0, $1) }
        default: return left == right
        }
    }

    static func isMember(_ needle: ExprValue, of haystack: ExprValue) throws(EvaluationError) -> Bool {
        switch (needle, haystack) {
        case (_, .array(let items)):
            return items.contains { looselyEqual(needle, $0) }
        case (.string(let part), .string(let whole)):
            return whole.contains(part)
        case (.string(let key), .object(let object)):
            return object[key] != nil
        case (_, .string), (_, .object):
            throw .typeMismatch("cannot look for \(show(needle)) in \(show(haystack)); only a string can be found in a string or among an object's keys")
        default:
            throw .typeMismatch("'in' and contains() need a list, string or object to search, got \(show(haystack))")
        }
    }

    /// Kind and value for a message, e.g. `string "200"`; null is just `null`.
    static func show(_ value: ExprValue) -> String {
        value == .null ? "null" : "\(value.kindName) \(shorten(value))"
    }

    static func shorten(_ value: ExprValue, limit: Int = 80) -> String {
        let text = value.description
        return text.count > limit ? String(text.prefix(limit)) + "…" : text
    }

    // MARK: Functions

    static func call(_ function: Function, _ arguments: [ExprValue]) throws(EvaluationError) -> ExprValue {
        switch function {
        case .all:
            let items = try list(arguments[0], for: function)
            return .bool(items.allSatisfy(\.isTruthy))
        case .any:
            let items = try list(arguments[0], for: function)
            return .bool(items.contains(where: \.isTruthy))
        case .len:
            switch arguments[0] {
            case .string(let text): return .number(Double(text.count))
            case .array(let items): return .number(Double(items.count))
            case .object(let object): return .number(Double(object.count))
            case let other: throw .typeMismatch("len() needs a string, list or object, got \(show(other))")
            }
        case .contains:
            return .bool(try isMember(arguments[1], of: arguments[0]))
        case .matches:
            guard case .string(let pattern) = arguments[1] else {
                throw .typeMismatch("matches() needs a regular expression string as its second argument, got \(show(arguments[1]))")
            }
            let regex: NSRegularExpression
            do {
                regex = try NSRegularExpression(pattern: pattern)
            } catch {
                throw .invalid("'\(pattern)' is not a valid regular expression")
            }
            func test(_ value: ExprValue) throws(EvaluationError) -> ExprValue {
                guard case .string(let text) = value else {
                    throw .typeMismatch("matches() needs a string to search, got \(show(value))")
                }
                switch BoundedRegex.firstMatch(regex, in: text) {
                case .match: return .bool(true)
                case .noMatch: return .bool(false)
                case .overBudget(let spent): throw .invalid(BoundedRegex.overBudgetMessage(pattern, budget: spent, length: text.count))
                }
            }
            if case .array(let items) = arguments[0] {
                var results: [ExprValue] = []
                for item in items { results.append(try test(item)) }
                return .array(results)
            }
            return try test(arguments[0])
        case .delta, .rate:
            throw .invalid("\(function.rawValue)() is evaluated over a window, not on a value")
        case .min, .max:
            let items = arguments.count == 1 ? try list(arguments[0], for: function) : arguments
            var numbers: [Double] = []
            for item in items {
                guard case .number(let number) = item else {
                    throw .typeMismatch("\(function.rawValue)() needs numbers, got \(show(item))")
                }
                numbers.append(number)
            }
            guard let result = function == .min ? numbers.min() : numbers.max() else {
                throw .noData("\(function.rawValue)() of an empty list")
            }
            return .number(result)
        case .number:
            switch arguments[0] {
            case .number: return arguments[0]
            case .string(let text):
                guard let value = parseNumber(text.trimmingWhitespace) else {
                    throw .typeMismatch("cannot read string \(shorten(arguments[0])) as a number")
                }
                return .number(value)
            case .array(let items):
                var values: [ExprValue] = []
                for item in items { values.append(try call(.number, [item])) }
                return .array(values)
            case let other:
                throw .typeMismatch("number() needs a string, got \(show(other))")
            }
        }
    }

    private static func list(_ value: ExprValue, for function: Function) throws(EvaluationError) -> [ExprValue] {
        guard case .array(let items) = value else {
            throw .typeMismatch("\(function.rawValue)() needs a list, got \(show(value))")
        }
        return items
    }

    /// Reads command output such as "42", "-1.5", "1e3" or "250ms" (units as in expressions).
    static func parseNumber(_ text: String) -> Double? {
        guard let tokens = try? Lexer.tokenize(text), tokens.count == 2,
              case .number(let value) = tokens[0].kind, value.isFinite else { return nil }
        return value
    }
}
