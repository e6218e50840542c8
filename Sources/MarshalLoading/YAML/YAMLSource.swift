import Foundation
import MarshalCore
import Yams

/// Parses YAML text into a Yams node tree, turning libyaml errors into positioned diagnostics.
enum YAMLSource {
    static func parse(_ text: String, file: String) -> Result<Node?, Diagnostic> {
        // Checked before Yams composes the text: composing already expands alias keys.
        if let excess = AliasScan.check(text) {
            return .failure(Diagnostic(.error, at: SourceLocation(file: file, line: excess.line, column: excess.column),
                                       "excessive aliasing: with alias *\(excess.anchor) the document expands past \(excess.values) values, nearly all of them copies; refused as a YAML bomb. Repeat the values instead of nesting aliases"))
        }
        do {
            return .success(try Yams.compose(yaml: text))
        } catch let error as YamlError {
            return .failure(diagnostic(for: error, file: file))
        } catch {
            return .failure(Diagnostic(.error, at: SourceLocation(file: file, line: 1, column: 1), "cannot read YAML: \(error)"))
        }
    }

    static func diagnostic(for error: YamlError, file: String) -> Diagnostic {
        func at(_ mark: Mark) -> SourceLocation {
            SourceLocation(file: file, line: max(mark.line, 1), column: max(mark.column, 1))
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let where_ = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            return Diagnostic(.error, at: at(mark), "invalid YAML: \(problem)\(where_)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return Diagnostic(.error, at: at(context.mark), "duplicate key \(keys) in the same mapping; each key may appear once")
        case .reader(let problem, let offset, _, _):
            return Diagnostic(.error, at: SourceLocation(file: file, line: 1, column: 1),
                              "cannot read file as UTF-8 text: \(problem)\(offset.map { " at byte \($0)" } ?? "")")
        case .dataCouldNotBeDecoded:
            return Diagnostic(.error, at: SourceLocation(file: file, line: 1, column: 1), "file is not UTF-8 text")
        default:
            return Diagnostic(.error, at: SourceLocation(file: file, line: 1, column: 1), "invalid YAML: \(error)")
        }
    }
}
