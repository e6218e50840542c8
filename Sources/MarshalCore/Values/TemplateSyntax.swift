import Foundation

/// Splits a template string into literal text and `{{ … }}` placeholders, with positions.
/// Runbook values use placeholders only; `{% %}` tags belong to report templates.
public struct TemplateSyntax: Sendable {
    public struct Placeholder: Sendable {
        /// The variable path, e.g. ["params", "release"]; empty when the placeholder is a literal.
        public var path: [String]
        public var filters: [String]
        public var isRaw: Bool
        public var text: String
        public var location: SourceLocation
    }

    public enum Part: Sendable {
        case literal(String)
        case placeholder(Placeholder)
    }

    public static let filters = ["default", "capitalize", "uppercase", "lowercase", "join", "split", "indent", "raw"]

    public var parts: [Part] = []
    public var diagnostics: [Diagnostic] = []

    public init(_ template: TemplateString) {
        let source = template.source
        let singleLine = !source.contains("\n")
        func location(at offset: Int) -> SourceLocation {
            // Exact columns only for one-line values; a block scalar points at the value's start.
            singleLine ? template.location.advanced(by: offset) : template.location
        }
        var literal = ""
        var index = source.startIndex
        while index < source.endIndex {
            let rest = source[index...]
            if rest.hasPrefix("{%") {
                diagnostics.append(Diagnostic(.error, at: location(at: source.distance(from: source.startIndex, to: index)),
                    "'{%' tags are not supported in runbook values; use 'when:' on the step for conditions, or a filter such as {{ x | default:\"y\" }}"))
                return
            }
            if rest.hasPrefix("{{") {
                let startOffset = source.distance(from: source.startIndex, to: index)
                guard let close = rest.range(of: "}}") else {
                    diagnostics.append(Diagnostic(.error, at: location(at: startOffset), "'{{' is never closed; expected '}}'"))
                    return
                }
                if !literal.isEmpty { parts.append(.literal(literal)); literal = "" }
                let inner = String(rest[rest.index(index, offsetBy: 2)..<close.lowerBound])
                if let placeholder = Self.parsePlaceholder(inner, at: location(at: startOffset), diagnostics: &diagnostics) {
                    parts.append(.placeholder(placeholder))
                }
                index = close.upperBound
                continue
            }
            literal.append(source[index])
            index = source.index(after: index)
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
    }

    public var placeholders: [Placeholder] {
        parts.compactMap { if case .placeholder(let p) = $0 { p } else { nil } }
    }

    private static func parsePlaceholder(_ inner: String, at location: SourceLocation, diagnostics: inout [Diagnostic]) -> Placeholder? {
        let pieces = splitFilters(inner)
        let head = pieces[0].trimmingCharacters(in: .whitespaces)
        var filters = pieces.dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }
        let isRaw = filters.contains("raw")
        filters.removeAll { $0 == "raw" }
        for filter in filters {
            let name = String(filter.prefix { $0 != ":" }).trimmingCharacters(in: .whitespaces)
            if !Self.filters.contains(name) {
                diagnostics.append(Diagnostic(.error, at: location,
                    "unknown filter '\(name)'\(Suggestion.hint(for: name, in: Self.filters)); expected one of: \(Self.filters.joined(separator: ", "))"))
                return nil
            }
        }
        if head.isEmpty {
            diagnostics.append(Diagnostic(.error, at: location, "empty placeholder '{{ }}'; expected a name such as {{ params.release }}"))
            return nil
        }
        if head.first == "\"" || head.first == "'" || head.first!.isNumber {
            return Placeholder(path: [], filters: filters, isRaw: isRaw, text: inner, location: location)
        }
        let path = head.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let valid = path.allSatisfy { part in
            !part.isEmpty && part.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
        }
        if !valid {
            diagnostics.append(Diagnostic(.error, at: location, "'\(head)' is not a name; expected a dotted path such as params.release or host.vars.base_url"))
            return nil
        }
        return Placeholder(path: path, filters: filters, isRaw: isRaw, text: inner, location: location)
    }

    /// Splits on `|` outside quotes.
    private static func splitFilters(_ text: String) -> [String] {
        var pieces: [String] = [""]
        var quote: Character?
        for ch in text {
            if let q = quote {
                if ch == q { quote = nil }
                pieces[pieces.count - 1].append(ch)
            } else if ch == "\"" || ch == "'" {
                quote = ch
                pieces[pieces.count - 1].append(ch)
            } else if ch == "|" {
                pieces.append("")
            } else {
                pieces[pieces.count - 1].append(ch)
            }
        }
        return pieces
    }
}
