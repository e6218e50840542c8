/// Finds names in an expression that cannot have a value where it will be evaluated, so a typo
/// such as `p95: "< fast"` or `expect: "vaule > 1"` is an input error at validate, not "no data"
/// at run time.
extension Expression {
    /// The first plain name in `text` (function names excluded) that `isKnown` refuses, with the
    /// location of that name: `location` is where `text` starts in its file.
    public static func unknownName(in text: String, at location: SourceLocation,
                                   isKnown: (String) -> Bool) -> (name: String, location: SourceLocation)? {
        guard let tokens = try? Lexer.tokenize(text) else { return nil }
        for (i, token) in tokens.enumerated() {
            guard case .name(let name) = token.kind else { continue }
            if i + 1 < tokens.count, tokens[i + 1].kind == .leftParen { continue }
            if !isKnown(name) { return (name, location.advanced(by: token.offset)) }
        }
        return nil
    }

    /// Every plain name (function names excluded) with where it is written, in order.
    public var namesWithLocations: [(name: String, location: SourceLocation)] {
        guard let tokens = try? Lexer.tokenize(source) else { return [] }
        return tokens.enumerated().compactMap { i, token in
            guard case .name(let name) = token.kind, !(i + 1 < tokens.count && tokens[i + 1].kind == .leftParen) else { return nil }
            return (name, location.advanced(by: token.offset))
        }
    }
}

/// The names an expression of a step can see: the template roots (`params.…`, `vars.…`, `steps.…`,
/// …; never `secrets.…`) and what the step itself produced, which depends on where the expression
/// sits. These sets mirror what the runners put in scope (`StepContext.expressionScope`).
public struct ExpressionNameScope: Sendable, Hashable {
    /// What the expression is, for messages: "'expect' of a sql step", "'until'".
    public var role: String
    /// First segments of the step's own names (`value`, `rows`, `headers` for `headers.content_type`).
    public var own: [String]

    /// `when` runs before the step: only template names.
    static let when = ExpressionNameScope(role: "'when' (evaluated before the step runs)", own: [])

    /// The names a gate's `expect` sees, by step kind; nil for kinds without one.
    static func expect(ofKind kind: String) -> ExpressionNameScope? {
        let own: [String]? = switch kind {
        case "sql": SQLRunner.names  // SQLRunner
        case "probe": ["value", "stdout", "rc"]                                     // ProbeRunner
        case "metric": ["value"]                                                    // MetricCheck
        case "http", "health": ["status", "duration", "body", "headers"]           // HTTPCheck (`that`)
        default: nil
        }
        return own.map { ExpressionNameScope(role: "'expect' of a \(kind) step", own: $0) }
    }

    /// `until` sees the attempt's evidence; nil for kinds whose evidence is not listed here (not checked).
    static func until(ofKind kind: String) -> ExpressionNameScope? {
        let command = ["stdout", "stdout_lines", "stderr", "truncated", "rc", "duration"]  // RemoteCommand
        let own: [String]? = switch kind {
        case "shell": command
        case "probe": command + ["value"]
        case "sql": SQLRunner.names
        case "metric": ["value", "query"]
        case "http", "health": ["status", "duration", "body", "json"]
        default: nil
        }
        return own.map { ExpressionNameScope(role: "'until' of a \(kind) step", own: $0) }
    }

    /// Whether `name` can have a value here as far as its first segment tells; template names are
    /// checked further by the runbook checker (declared params, known step ids, …).
    public func admits(_ name: String) -> Bool {
        let root = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
        // `baseline.<id>.<figure>`: the baseline run's evidence (ids checked by the runbook checker).
        return own.contains(root) || (TemplateScope.roots.contains(root) && root != "secrets") || root == Baseline.root
    }

    /// Why `name` has no value here, for the operator.
    public func refusal(_ name: String) -> String {
        let root = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
        if root == "secrets" { return "'\(name)': secrets are never visible to expressions; compare a value the step produced instead" }
        let roots = TemplateScope.roots.filter { $0 != "secrets" }
        let own = self.own.isEmpty ? "" : self.own.joined(separator: ", ") + ", or "
        return "'\(name)' in \(role) names nothing that has a value\(Suggestion.hint(for: root, in: self.own + roots)); it can use \(own)names starting with \(roots.map { $0 + "." }.joined(separator: ", "))"
    }
}

extension Step {
    /// Each expression the step holds, with the names it can see; soak gates are steps of their own.
    /// Benchmark thresholds are checked where they are read (metric names, `StepDecoder`).
    public var expressionScopes: [(expression: Expression, scope: ExpressionNameScope)] {
        var out: [(Expression, ExpressionNameScope)] = []
        if let when { out.append((when, .when)) }
        if let until, let scope = ExpressionNameScope.until(ofKind: kind.name) { out.append((until, scope)) }
        let expect = kind.as(SQLStep.self)?.expect ?? kind.as(ProbeStep.self)?.expect ?? kind.as(MetricStep.self)?.expect
            ?? kind.as(HTTPStep.self)?.expect.condition ?? kind.as(HealthStep.self)?.request.expect.condition
        if let expect, let scope = ExpressionNameScope.expect(ofKind: kind.name) { out.append((expect, scope)) }
        if let soak = kind.as(SoakStep.self) { out += soak.gates.flatMap(\.expressionScopes) }
        return out
    }
}
