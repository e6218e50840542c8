/// Finds names in an expression that cannot have a value where it will be evaluated, so a typo
/// such as `p95: "< fast"` is an input error at validate, not "no data" at run time.
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
}
