internal import CYaml
import Foundation

/// Refuses documents whose aliases expand far beyond their text (the "billion laughs" shape)
/// before Yams composes them. Composing is where the first blow-up happens: Yams hashes mapping
/// keys to find duplicates, and a key that is an alias of a nested structure is hashed whole.
/// So this pass reads libyaml's events (the same parser Yams uses) and counts what each anchor
/// would expand to without expanding anything: a bounded number of steps whatever the expanded
/// size. The rule is go-yaml's (decode.go `allowedAliasRatio`): once more than 100 of over 1,000
/// values come from aliases, the share of aliased values may be at most 99 % (up to 400,000
/// values), falling linearly to 10 % at 4 million; past `maxValues` a document is refused anyway.
/// (`CYaml` is Yams's own copy of libyaml, reached through the Yams dependency.)
struct AliasScan {
    static let maxValues = 1_000_000

    static func allowedRatio(_ values: Int) -> Double {
        if values <= 400_000 { return 0.99 }
        if values >= 4_000_000 { return 0.10 }
        return 0.99 - 0.89 * Double(values - 400_000) / 3_600_000
    }

    /// The alias that took the document past the rule: its anchor, 1-based line and column, and
    /// how many values the document had expanded to by then.
    struct Excess: Equatable {
        let anchor: String
        let line: Int
        let column: Int
        let values: Int
    }

    /// Scans `text`; nil when the aliases are within the rule, or when libyaml finds a syntax
    /// error (Yams reports that one, positioned, when it parses the same text).
    static func check(_ text: String) -> Excess? {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer -> Excess? in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return nil }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var scan = AliasScan()
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return nil }
                if let excess = scan.take(event) { return excess }
            }
        }
    }

    /// Open collections: their anchor and the values counted inside so far (itself included).
    private var open: [(anchor: String?, values: Int)] = []
    /// Expanded size of each anchored node of the current document.
    private var sizes: [String: Int] = [:]
    private var values = 0
    private var aliased = 0

    private mutating func take(_ event: yaml_event_t) -> Excess? {
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            sizes.removeAll()
            open.removeAll()
        case YAML_SCALAR_EVENT:
            values += 1
            if let anchor = Self.string(event.data.scalar.anchor) { sizes[anchor] = 1 }
            add(1)
        case YAML_SEQUENCE_START_EVENT:
            values += 1
            open.append((Self.string(event.data.sequence_start.anchor), 1))
        case YAML_MAPPING_START_EVENT:
            values += 1
            open.append((Self.string(event.data.mapping_start.anchor), 1))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let closed = open.popLast() else { break }
            if let anchor = closed.anchor { sizes[anchor] = closed.values }
            add(closed.values)
        case YAML_ALIAS_EVENT:
            let anchor = Self.string(event.data.alias.anchor) ?? ""
            let size = sizes[anchor] ?? 1
            values = Self.capped(values, size)
            aliased = Self.capped(aliased, size)
            add(size)
            if values > Self.maxValues
                || (aliased > 100 && values > 1000 && Double(aliased) > Double(values) * Self.allowedRatio(values)) {
                return Excess(anchor: anchor, line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1, values: values)
            }
        default:
            break
        }
        return nil
    }

    private mutating func add(_ count: Int) {
        guard !open.isEmpty else { return }
        open[open.count - 1].values = Self.capped(open[open.count - 1].values, count)
    }

    /// Sums stop at a value far past any limit instead of overflowing.
    private static func capped(_ a: Int, _ b: Int) -> Int { min(a &+ b, Int.max / 4) }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
