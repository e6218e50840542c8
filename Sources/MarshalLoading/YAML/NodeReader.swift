import Foundation
import MarshalCore
import Yams

/// Reads a Yams node tree into typed values, collecting a positioned diagnostic for every problem.
/// Decoding goes on after an error so one pass reports everything wrong with a file.
final class NodeReader {
    let file: String
    var diagnostics = DiagnosticBag()
    /// The step kinds a runbook may use.
    let kinds: StepKindRegistry

    /// Templated durations and expectations of the step being decoded (see `StepDecoder.decode`).
    var templated: [TemplatedField] = []

    /// A value written as a template (`"{{ params.pause }}"`) for a key that takes one: recorded
    /// to be rendered when the run starts; true when it was one.
    func takeTemplate(_ node: Node, as key: TemplatedField.Key) -> Bool {
        guard case .scalar(let scalar) = node, scalar.string.contains("{{") else { return false }
        templated.append(TemplatedField(key: key, template: TemplateString(scalar.string, at: contentStart(of: node))))
        return true
    }

    init(file: String, kinds: StepKindRegistry = .builtIn) {
        self.file = file
        self.kinds = kinds
    }

    func location(of node: Node) -> SourceLocation {
        guard let mark = node.mark else { return SourceLocation(file: file, line: 1, column: 1) }
        return SourceLocation(file: file, line: mark.line, column: mark.column)
    }

    func error(_ message: String, at node: Node) {
        diagnostics.error(message, at: location(of: node))
    }

    func error(_ message: String, at location: SourceLocation) {
        diagnostics.error(message, at: location)
    }

    /// What a node is, in words, for "expected X, found Y" messages.
    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s):
            if s.style == .plain {
                if node.tag.rawValue == Tag.Name.int.rawValue || node.tag.rawValue == Tag.Name.float.rawValue { return "the number \(s.string)" }
                if node.tag.rawValue == Tag.Name.bool.rawValue { return "the boolean \(s.string)" }
                if node.tag.rawValue == Tag.Name.null.rawValue { return "an empty value" }
            }
            let shown = s.string.count > 40 ? String(s.string.prefix(40)) + "…" : s.string
            return "the string \"\(shown)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    func mapping(_ node: Node, _ what: String) -> MapReader? {
        guard case .mapping(let mapping) = node else {
            error("\(what) must be a mapping of keys to values, found \(describe(node))", at: node)
            return nil
        }
        return MapReader(reader: self, mapping: mapping, node: node, what: what)
    }

    func sequence(_ node: Node, _ what: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            error("\(what) must be a list, found \(describe(node))", at: node)
            return nil
        }
        return Array(sequence)
    }

    /// Like `sequence`, but a single value is read as a one-element list.
    func listOrSingle(_ node: Node) -> [Node] {
        if case .sequence(let sequence) = node { return Array(sequence) }
        return [node]
    }

    func string(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let scalar) = node else {
            error("\(what) must be a string, found \(describe(node))", at: node)
            return nil
        }
        if scalar.style == .plain, node.tag.rawValue == Tag.Name.null.rawValue {
            error("\(what) must not be empty", at: node)
            return nil
        }
        return scalar.string
    }

    func template(_ node: Node, _ what: String) -> TemplateString? {
        guard let text = string(node, what) else { return nil }
        return TemplateString(text, at: contentStart(of: node))
    }

    /// Where a scalar's text begins: one column after the mark for a quoted scalar.
    func contentStart(of node: Node) -> SourceLocation {
        let start = location(of: node)
        if case .scalar(let scalar) = node, scalar.style == .singleQuoted || scalar.style == .doubleQuoted {
            return start.advanced(by: 1)
        }
        return start
    }

    func int(_ node: Node, _ what: String, min: Int? = nil) -> Int? {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string.trimmingCharacters(in: .whitespaces)) else {
            error("\(what) must be a whole number, found \(describe(node))", at: node)
            return nil
        }
        if let min, value < min {
            error("\(what) must be at least \(min), found \(value)", at: node)
            return nil
        }
        return value
    }

    func number(_ node: Node, _ what: String) -> Double? {
        guard case .scalar(let scalar) = node, let value = Double(scalar.string.trimmingCharacters(in: .whitespaces)),
              value.isFinite else {
            error("\(what) must be a number, found \(describe(node))", at: node)
            return nil
        }
        return value
    }

    func bool(_ node: Node, _ what: String) -> Bool? {
        guard case .scalar(let scalar) = node else {
            error("\(what) must be true or false, found \(describe(node))", at: node)
            return nil
        }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            error("\(what) must be true or false, found \(describe(node))", at: node)
            return nil
        }
    }

    func duration(_ node: Node, _ what: String) -> Duration? {
        guard case .scalar(let scalar) = node else {
            error("\(what) must be a duration such as 500ms, 30s, 2m or 1h, found \(describe(node))", at: node)
            return nil
        }
        guard let value = DurationText.parse(scalar.string) else {
            error("\(what): '\(scalar.string)' is not a duration; expected a number with a unit such as 500ms, 30s, 2m or 1h", at: node)
            return nil
        }
        return value
    }

    func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ what: String, as: T.Type) -> T? where T.RawValue == String {
        guard let text = string(node, what) else { return nil }
        if let value = T(rawValue: text) { return value }
        let names = T.allCases.map(\.rawValue)
        error("\(what): unknown value '\(text)'; expected one of \(names.joined(separator: ", "))\(Suggestion.hint(for: text, in: names))", at: node)
        return nil
    }

    func expression(_ node: Node, _ what: String) -> Expression? {
        guard case .scalar(let scalar) = node else {
            error("\(what) must be an expression such as \"value >= 5\", found \(describe(node))", at: node)
            return nil
        }
        return parseExpression(scalar.string, node: node, what: what, subject: nil)
    }

    /// `thresholds: { p95: "< 500ms" }`: the key is the left side when the text starts with an operator.
    func condition(_ node: Node, subject: String, _ what: String) -> Expression? {
        guard case .scalar(let scalar) = node else {
            error("\(what) must be a condition such as \"< 500ms\", found \(describe(node))", at: node)
            return nil
        }
        return parseExpression(scalar.string, node: node, what: what, subject: subject)
    }

    private func parseExpression(_ text: String, node: Node, what: String, subject: String?) -> Expression? {
        // Columns inside the expression are counted from the first character of the scalar's text;
        // quoted scalars start one column after their mark.
        let start = contentStart(of: node)
        do {
            if let subject { return try Expression.parseCondition(subject: subject, text, at: start) }
            return try Expression.parse(text, at: start)
        } catch {
            diagnostics.error("\(what): \(error.message)", at: error.location)
            return nil
        }
    }

    /// A free-form value (vars, JSON bodies), typed by YAML's plain-scalar rules.
    func configValue(_ node: Node) -> ConfigValue {
        switch node {
        case .scalar(let scalar):
            guard scalar.style == .plain else { return .string(scalar.string) }
            switch node.tag.rawValue {
            case Tag.Name.int.rawValue, Tag.Name.float.rawValue:
                if let d = Double(scalar.string) { return .number(d) }
                return .string(scalar.string)
            case Tag.Name.bool.rawValue: return .bool(node.bool ?? false)
            case Tag.Name.null.rawValue: return .null
            default: return .string(scalar.string)
            }
        case .sequence(let sequence):
            return .list(sequence.map(configValue))
        case .mapping(let mapping):
            return .map(mapping.map { pair in
                ConfigEntry(key: pair.key.string ?? "", value: configValue(pair.value), location: location(of: pair.key))
            })
        case .alias:
            return .null
        }
    }

    func configEntries(_ node: Node, _ what: String) -> [ConfigEntry] {
        guard let map = mapping(node, what) else { return [] }
        return map.pairs.map { ConfigEntry(key: $0.key, value: configValue($0.value), location: $0.keyLocation) }
    }
}

/// A YAML mapping being read. Every key asked for is remembered; `finish()` reports the keys
/// nobody asked for as unknown, with a suggestion among the known ones.
final class MapReader {
    struct Pair {
        let key: String
        let keyLocation: SourceLocation
        let keyNode: Node
        let value: Node
    }

    let reader: NodeReader
    let node: Node
    let what: String
    let pairs: [Pair]
    private var known: [String] = []
    /// The keys the file format declares for this mapping (MarshalCore's declarations), when known.
    private(set) var declared: [String]?

    init(reader: NodeReader, mapping: Node.Mapping, node: Node, what: String) {
        self.reader = reader
        self.node = node
        self.what = what
        var pairs: [Pair] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                reader.error("keys of \(what) must be plain names, found \(reader.describe(key))", at: key)
                continue
            }
            pairs.append(Pair(key: scalar.string, keyLocation: reader.location(of: key), keyNode: key, value: value))
        }
        self.pairs = pairs
    }

    var location: SourceLocation { reader.location(of: node) }

    /// Takes the mapping's keys from a declaration: a key outside it is unknown even if read, and
    /// (in debug builds) reading an undeclared key stops the test run, so schema and docs stay true.
    @discardableResult
    func declare(_ shape: ObjectShape?) -> MapReader {
        if let shape { declared = shape.keyNames }
        return self
    }

    private func checkDeclared(_ key: String) {
        assert(declared == nil || declared!.contains(key), "key '\(key)' of \(what) is read but not declared in MarshalCore's declarations")
    }

    func has(_ key: String) -> Bool {
        checkDeclared(key)
        known.append(key)
        return pairs.contains { $0.key == key }
    }

    /// The value node for `key`, or nil (with an error naming the key when it is required).
    func node(_ key: String, required: Bool = false, expected: String = "") -> Node? {
        checkDeclared(key)
        known.append(key)
        if let pair = pairs.first(where: { $0.key == key }) { return pair.value }
        if required {
            reader.error("\(what) is missing the required key '\(key)'\(expected.isEmpty ? "" : " (\(expected))")", at: node)
        }
        return nil
    }

    func keyLocation(_ key: String) -> SourceLocation? { pairs.first { $0.key == key }?.keyLocation }

    /// Declares keys that are accepted without being read here (e.g. read elsewhere).
    func accept(_ keys: [String]) { known.append(contentsOf: keys) }

    func string(_ key: String, required: Bool = false) -> String? {
        node(key, required: required).flatMap { reader.string($0, "'\(key)'") }
    }

    func template(_ key: String, required: Bool = false, expected: String = "") -> TemplateString? {
        node(key, required: required, expected: expected).flatMap { reader.template($0, "'\(key)'") }
    }

    func int(_ key: String, min: Int? = nil) -> Int? {
        node(key).flatMap { reader.int($0, "'\(key)'", min: min) }
    }

    func bool(_ key: String) -> Bool? {
        node(key).flatMap { reader.bool($0, "'\(key)'") }
    }

    func duration(_ key: String, required: Bool = false) -> Duration? {
        node(key, required: required).flatMap { reader.duration($0, "'\(key)'") }
    }

    func expression(_ key: String) -> Expression? {
        node(key).flatMap { reader.expression($0, "'\(key)'") }
    }

    func choice<T: RawRepresentable & CaseIterable>(_ key: String, as type: T.Type, required: Bool = false) -> T? where T.RawValue == String {
        node(key, required: required).flatMap { reader.choice($0, "'\(key)'", as: type) }
    }

    /// Reports every key that no reader asked for.
    func finish(extraHint: String = "") {
        let accepted = known + (declared ?? [])
        for pair in pairs where !accepted.contains(pair.key) {
            let candidates = Array(Set(accepted)).sorted()
            let hint = Suggestion.hint(for: pair.key, in: candidates)
            let expected = hint.isEmpty && !candidates.isEmpty ? "; expected one of: \(candidates.joined(separator: ", "))" : ""
            reader.error("unknown key '\(pair.key)' in \(what)\(hint)\(expected)\(extraHint)", at: pair.keyLocation)
        }
    }
}
