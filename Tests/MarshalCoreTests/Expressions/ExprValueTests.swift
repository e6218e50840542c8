import Foundation
import MarshalCore
import Testing

@Suite("Expression values")
struct ExprValueTests {
    @Test("fromJSON reads every JSON kind and keeps booleans apart from 0 and 1")
    func fromJSON() {
        let value = ExprValue.fromJSON(Array(#"{"a": [1, 2.5, true, false, null, "x"], "b": {"c": 0}}"#.utf8))
        #expect(value == .object([
            "a": .array([.number(1), .number(2.5), .bool(true), .bool(false), .null, .string("x")]),
            "b": .object(["c": .number(0)]),
        ]))
        #expect(ExprValue.fromJSON(Array("42".utf8)) == .number(42))
        #expect(ExprValue.fromJSON(Array(#""ok""#.utf8)) == .string("ok"))
    }

    @Test("fromJSON gives nil for text that is not JSON")
    func notJSON() {
        #expect(ExprValue.fromJSON(Array("OK".utf8)) == nil)
        #expect(ExprValue.fromJSON(Array("".utf8)) == nil)
        #expect(ExprValue.fromJSON(Array("{\"a\": ".utf8)) == nil)
        #expect(ExprValue.fromJSON(Data([0xff, 0xfe, 0x00])) == nil)
    }

    @Test("fromJSONObject converts JSONSerialization output, booleans included")
    func fromJSONObject() throws {
        let object = try JSONSerialization.jsonObject(with: Data(#"{"t": true, "one": 1, "zero": 0, "f": 1.5, "n": null, "l": ["s"]}"#.utf8))
        #expect(ExprValue.fromJSONObject(object) == .object([
            "t": .bool(true), "one": .number(1), "zero": .number(0), "f": .number(1.5), "n": .null, "l": .array([.string("s")]),
        ]))
        #expect(ExprValue.fromJSONObject(true) == .bool(true))
        #expect(ExprValue.fromJSONObject(3) == .number(3))
    }

    @Test("truthiness of each kind")
    func truthiness() {
        #expect(ExprValue.bool(true).isTruthy && !ExprValue.bool(false).isTruthy)
        #expect(ExprValue.number(2).isTruthy && !ExprValue.number(0).isTruthy && !ExprValue.number(.nan).isTruthy)
        #expect(ExprValue.string("x").isTruthy && !ExprValue.string("").isTruthy)
        #expect(!ExprValue.null.isTruthy)
        #expect(ExprValue.array([.null]).isTruthy && !ExprValue.array([]).isTruthy)
        #expect(ExprValue.object(["a": .null]).isTruthy && !ExprValue.object([:]).isTruthy)
    }

    @Test("description is JSON-like with integral numbers and sorted keys")
    func description() {
        #expect(ExprValue.number(200).description == "200")
        #expect(ExprValue.number(0.5).description == "0.5")
        #expect(ExprValue.string("a\"b").description == #""a\"b""#)
        #expect(ExprValue.object(["b": .null, "a": .array([.bool(true)])]).description == #"{"a": [true], "b": null}"#)
    }
}
