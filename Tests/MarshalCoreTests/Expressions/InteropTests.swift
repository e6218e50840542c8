import Foundation
import MarshalCore
import Testing

@Suite("Expressions alongside Foundation")
struct InteropTests {
    // Foundation has its own `Expression` (the #Expression macro's type), so a file importing both
    // must qualify the name or use the `MarshalExpression` alias.
    @Test("MarshalCore.Expression and MarshalExpression name Marshal's type where Foundation is imported")
    func nameResolves() throws {
        let expression: MarshalCore.Expression = try MarshalCore.Expression.parse("a", at: base)
        let alias: MarshalExpression = try MarshalExpression.parse("a", at: base)
        #expect(expression == alias)
    }

    @Test("deeply nested JSON is refused or read, never a crash")
    func deepJSON() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        _ = ExprValue.fromJSON(Array(deep.utf8))
        let unbalanced = String(repeating: "{\"a\":", count: 50_000)
        #expect(ExprValue.fromJSON(Array(unbalanced.utf8)) == nil)
    }

    @Test("ExprValue round-trips through Codable")
    func codable() throws {
        let value = json(#"{"a": [1, true, null, "x", {"b": 2.5}]}"#)
        let data = try JSONEncoder().encode(value)
        #expect(ExprValue.fromJSON(data) == value)
    }
}
