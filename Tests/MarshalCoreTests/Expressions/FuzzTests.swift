import MarshalCore
import MarshalTestSupport
import Testing

@Suite("Expression fuzzing")
struct FuzzTests {
    static let fragments: [String] = [
        "a", "p95", "error_rate", "steps.x.size", "value", "$", "$.", "$.status", "$.services.*.up", "$.items[0]",
        "$[\"k\"]", "[*]", "[-1]", "[", "]", "(", ")", ",", " ", " ", " ", "\t", "and", "or", "not", "in", "&&", "||",
        "!", "==", "!=", "<", "<=", ">", ">=", "=", "&", "|", "-", ".", "500ms", "1%", "2MB", "3KiB", "1e3", "-4",
        "0.5", "5mz", "'x'", "\"y\"", "'", "\"", "\\", "\\n", "true", "false", "null", "all(", "any(", "len(",
        "contains(", "matches(", "min(", "max(", "number(", "avg(", "µs", "é", "💥", "#", "\n", "1", "9",
    ]

    static let corpus: [String] = [
        "p95 < 500ms and error_rate < 1%",
        "not a or b and c",
        "all($.services.*.status == 'up')",
        "$.items[0].id in [1, 2, 3]",
        "len($) > 2 or contains($.tags, \"x\")",
        "matches(body, '^v[0-9]+') && !(status != 200)",
        "max(1, 2, 3) >= min([4, 5]) and number('7') == 7",
        "$[\"weird key\"] == null || x not in [500, 502]",
    ]

    static let scope = DictionaryScope(
        ["a": .bool(true), "b": .number(0), "c": .string("x"), "p95": .number(0.3), "value": .number(5),
         "body": .string("v12 ok"), "status": .number(200), "x": .array([.number(1), .string("y")])],
        document: json(#"{"status": "up", "services": {"a": {"up": true}}, "items": [{"id": 1}], "tags": ["x"], "k": null}"#)
    )

    /// Parses and, when that succeeds, evaluates, tests and explains; any error is fine, a trap is not.
    static func exercise(_ text: String) -> Bool {
        do {
            let expression = try Expression.parse(text, at: base)
            _ = try? expression.evaluate(in: scope)
            _ = try? expression.test(in: scope)
            _ = expression.explain(in: scope)
            _ = expression.names
            return true
        } catch {
            let column = error.location.column
            #expect(column >= base.column && column <= base.column + text.count, "column \(column) outside '\(text)'")
            #expect(!error.message.isEmpty)
            return false
        }
    }

    @Test("10,000 random token soups never crash and errors stay inside the text")
    func randomText() {
        var random = SplitMix64(state: 0x5EED)
        var parsed = 0
        for _ in 0..<10_000 {
            let count = Int.random(in: 0...24, using: &random)
            let text = (0..<count).map { _ in Self.fragments.randomElement(using: &random)! }.joined()
            if Self.exercise(text) { parsed += 1 }
        }
        #expect(parsed > 0)
    }

    @Test("10,000 mutations of valid expressions never crash")
    func mutations() {
        var random = SplitMix64(state: 0xC0FFEE)
        for _ in 0..<10_000 {
            var characters = Array(Self.corpus.randomElement(using: &random)!)
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let position = Int.random(in: 0...characters.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0 where position < characters.count:
                    characters.remove(at: position)
                case 1:
                    characters.insert(contentsOf: Self.fragments.randomElement(using: &random)!, at: position)
                case 2 where position < characters.count:
                    characters[position] = Character(UnicodeScalar(UInt8.random(in: 32...126, using: &random)))
                default:
                    let end = Int.random(in: position...characters.count, using: &random)
                    characters.insert(contentsOf: characters[position..<end], at: position)
                }
            }
            _ = Self.exercise(String(characters))
        }
    }
}
