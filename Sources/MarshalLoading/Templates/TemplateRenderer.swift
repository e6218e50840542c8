import Foundation
import MarshalCore
import Stencil

/// Renders runbook values. Each placeholder becomes a fragment: a value (quoted in shell commands
/// unless `| raw`), or a secret (masked for display). An undefined name is an error, never "".
public struct TemplateRenderer: Sendable {
    public init() {}

    public enum RenderError: Error, Sendable, CustomStringConvertible {
        case undefined(name: String, suggestion: String?, location: SourceLocation)
        case syntax(Diagnostic)
        case filterOnSecret(name: String, location: SourceLocation)
        case filter(String, location: SourceLocation)

        /// The same finding, with its code, as Core's callers read it.
        public var diagnostic: Diagnostic {
            switch self {
            case .undefined(let name, let suggestion, let location):
                Diagnostic(.error, at: location, "undefined name '\(name)'\(suggestion.map { " (did you mean '\($0)'?)" } ?? "")",
                           code: .undefinedName)
            case .syntax(let d):
                Diagnostic(d.severity, at: d.location, d.message, code: d.code ?? .templateSyntax)
            case .filterOnSecret(let name, let location):
                Diagnostic(.error, at: location, "filters cannot be applied to secret '\(name)'; its value must stay hidden",
                           code: .filterOnSecret)
            case .filter(let message, let location):
                Diagnostic(.error, at: location, message, code: .templateFilter)
            }
        }

        public var description: String { diagnostic.description }

        public var location: SourceLocation {
            switch self {
            case .undefined(_, _, let l), .filterOnSecret(_, let l), .filter(_, let l): l
            case .syntax(let d): d.location
            }
        }
    }

    public func renderText(_ template: TemplateString, in scope: TemplateScope) throws(RenderError) -> RenderedText {
        let syntax = TemplateSyntax(template)
        if let first = syntax.diagnostics.first { throw .syntax(first) }
        var fragments: [RenderedText.Fragment] = []
        for part in syntax.parts {
            switch part {
            case .literal(let text):
                fragments.append(.literal(text))
            case .placeholder(let placeholder):
                fragments.append(try fragment(for: placeholder, in: scope))
            }
        }
        return RenderedText(fragments)
    }

    /// Renders a value whose text is used as is (URL, path): fragments are kept for masking.
    public func renderPlain(_ template: TemplateString, in scope: TemplateScope) throws(RenderError) -> RenderedText {
        try renderText(template, in: scope)
    }

    private func fragment(for placeholder: TemplateSyntax.Placeholder, in scope: TemplateScope) throws(RenderError) -> RenderedText.Fragment {
        var base: ConfigValue?
        if !placeholder.path.isEmpty {
            switch scope.lookup(placeholder.path) {
            case .found(.secret(let secret)):
                if !placeholder.filters.isEmpty { throw .filterOnSecret(name: placeholder.path.joined(separator: "."), location: placeholder.location) }
                return .secret(secret)
            case .found(.value(let value)):
                base = value
            case .deferred:
                return .raw("{{ \(placeholder.path.joined(separator: ".")) }}")
            case .undefined(let suggestion):
                // `| default:` makes an undefined name acceptable, as in Jinja.
                if !placeholder.filters.contains(where: { $0.hasPrefix("default") }) {
                    throw .undefined(name: placeholder.path.joined(separator: "."), suggestion: suggestion, location: placeholder.location)
                }
            }
        }
        let text: String
        if placeholder.filters.isEmpty, let base {
            text = base.text
        } else {
            text = try applyFilters(placeholder, base: base)
        }
        return placeholder.isRaw ? .raw(text) : .quoted(text)
    }

    private func applyFilters(_ placeholder: TemplateSyntax.Placeholder, base: ConfigValue?) throws(RenderError) -> String {
        let expression: String
        var context: [String: Any] = [:]
        if placeholder.path.isEmpty {
            expression = ([placeholder.text.split(separator: "|", maxSplits: 1).first.map(String.init) ?? ""] + placeholder.filters).joined(separator: "|")
        } else {
            context["__value"] = base?.plain
            expression = (["__value"] + placeholder.filters).joined(separator: "|")
        }
        do {
            return try Stencil.Environment().renderTemplate(string: "{{ \(expression) }}", context: context)
        } catch {
            throw .filter("cannot apply filters in '{{\(placeholder.text)}}': \(error)", location: placeholder.location)
        }
    }
}
