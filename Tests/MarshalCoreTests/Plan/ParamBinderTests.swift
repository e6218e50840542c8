import MarshalCore
import Testing

@Suite("Params")
struct ParamBinderTests {
    let at = SourceLocation(file: "r.yml", line: 1, column: 1)
    var runbook: Runbook {
        Runbook(name: "r", path: "r.yml", location: at, params: [
            ParamSpec(name: "release", required: true, location: at),
            ParamSpec(name: "replicas", kind: .int, defaultValue: .number(2), location: at),
            ParamSpec(name: "mode", choices: ["fast", "safe"], location: at),
        ], targets: .all(at: at))
    }

    @Test("given values are typed; defaults fill the rest")
    func binds() throws {
        let bound = try ParamBinder.bind([("release", "v2")], to: runbook).get()
        #expect(bound["release"] == .string("v2"))
        #expect(bound["replicas"] == .number(2))
        #expect(bound["mode"] == nil)
    }

    @Test("missing required, wrong type, unknown name and a value outside choices are each reported")
    func errors() {
        guard case .failure(let error) = ParamBinder.bind([("replicas", "two"), ("mode", "yolo"), ("relase", "v2")], to: runbook) else {
            Issue.record("expected errors")
            return
        }
        let messages = error.diagnostics.map(\.message)
        #expect(messages.contains("-p replicas: 'two' is not a valid int (a whole number such as 3)"))
        #expect(messages.contains("-p mode: 'yolo' is not one of the allowed values: fast, safe"))
        #expect(messages.contains { $0.hasPrefix("-p relase: runbook 'r' has no param 'relase' (did you mean 'release'?)") })
        #expect(messages.contains { $0.hasPrefix("missing required param 'release'") })
    }
}
