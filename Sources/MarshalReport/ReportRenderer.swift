import Foundation
import MarshalCore
import Stencil

/// Renders a results document: a Stencil template over `ReportData`.
public struct ReportRenderer: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case templateNotFound(String, searched: [String])
        case render(String, String)
        public var description: String {
            switch self {
            case .templateNotFound(let name, let searched):
                "report template '\(name)' not found; looked in \(searched.joined(separator: ", "))"
            case .render(let name, let message): "report template \(name): \(message)"
            }
        }
    }

    /// Folders searched for `NAME.md` (the project's Templates/ first); the built-in templates come after them.
    public var searchPaths: [String]

    public init(searchPaths: [String]) { self.searchPaths = searchPaths }

    public func templatePath(_ nameOrPath: String) throws(Failure) -> String {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".md") {
            if FileManager.default.fileExists(atPath: nameOrPath) { return nameOrPath }
            throw .templateNotFound(nameOrPath, searched: [nameOrPath])
        }
        let candidates = searchPaths.map { "\($0)/\(nameOrPath).md" }
        if let found = candidates.first(where: FileManager.default.fileExists) { return found }
        throw .templateNotFound(nameOrPath, searched: candidates)
    }

    /// The template's text and where it came from: a file found on the search paths, else the copy
    /// compiled into the binary (so an installed or copied binary needs no Templates/ beside it).
    public func templateText(_ nameOrPath: String) throws(Failure) -> (text: String, origin: String) {
        let path: String
        do {
            path = try templatePath(nameOrPath)
        } catch {
            if let embedded = DefaultTemplates.all[nameOrPath] { return (embedded, "built-in \(nameOrPath)") }
            throw error
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw .templateNotFound(nameOrPath, searched: [path]) }
        return (text, path)
    }

    public func render(_ data: ReportData, template nameOrPath: String) throws(Failure) -> String {
        let (text, path) = try templateText(nameOrPath)
        do {
            let environment = Environment(extensions: [Self.makeExtensions()])
            return try environment.renderTemplate(string: text, context: data.context)
        } catch {
            throw .render(path, "\(error)")
        }
    }

    /// `{{ row|cells }}` renders a table row, each cell escaped (`MarkdownText`); `{{ text|md }}`
    /// escapes one value for a template that prints journal text of its own.
    static func makeExtensions() -> Extension {
        let ext = Extension()
        ext.registerFilter("cells") { value in
            guard let cells = value as? [String] else { return value }
            return "| " + cells.map(MarkdownText.escape).joined(separator: " | ") + " |"
        }
        ext.registerFilter("md") { value in
            guard let text = value as? String else { return value }
            return MarkdownText.escape(text)
        }
        return ext
    }
}
