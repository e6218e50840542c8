import Foundation
import MarshalCore
import Testing
@testable import MarshalLoading

/// The declarations behind the schema and the docs describe what the decoder reads.
@Suite("Key declarations")
struct DeclarationTests {
    static func valid(_ shape: ValueShape) -> String {
        switch shape {
        case .duration: "1s"
        case .choice(let words), .choiceOrTemplate(let words): words[0]
        case .steps, .list: "[]"
        case .integer: "1"
        case .boolean: "true"
        default: "x"
        }
    }

    @Test("one declaration per step kind, in the decoder's order")
    func kinds() {
        #expect(StepDeclarations.kinds.map(\.name) == StepKindRegistry.builtIn.names)
    }

    @Test("every declared key of every kind is read by the decoder: a wrong value for it is reported as that key's error, never as unknown")
    func everyDeclaredKeyIsRead() {
        for kind in StepDeclarations.kinds {
            for key in kind.object.keys where key.name != "on" {
                // A mapping where a scalar belongs (or a scalar where a mapping belongs) is wrong for every shape but `any`.
                if case .any = key.shape { continue }
                let bad: String
                if case .dictionary = key.shape { bad = "[1]" } else if case .keyed = key.shape { bad = "[1]" }
                else if case .object = key.shape { bad = "[1]" } else if case .steps = key.shape { bad = "{ x: 1 }" }
                else if case .list = key.shape { bad = "{ x: 1 }" } else { bad = "{ x: 1 }" }
                // The other required keys get valid values, so the decoder reads on to the key under test.
                let others = kind.object.keys.filter { $0.required && $0.name != key.name }.map { "\($0.name): \(Self.valid($0.shape))" }
                let path = Repo.temporaryFile("""
                version: 1
                runbook: probe
                steps:
                  - \(kind.name): { \((others + ["\(key.name): \(bad)"]).joined(separator: ", ")) }
                """)
                let messages = Loader(root: Repo.root).validate(paths: [path], environmentPath: nil).map(\.message)
                #expect(!messages.contains { $0.contains("unknown key '\(key.name)'") }, "\(kind.name).\(key.name): \(messages)")
                #expect(messages.contains { $0.contains(key.name) }, "\(kind.name).\(key.name) is declared but a wrong value is not reported: \(messages)")
            }
        }
    }
}
