import MarshalCore

/// A toy step kind written the way a new kind is added: this one file, plus its line in a registry
/// (`ToyKindTests.kinds`). It decodes with positions, validates, describes itself for the plan and
/// runs from this machine, echoing its rendered text `times` times as evidence.
struct EchoStep: StepKindPlugin {
    var text: TemplateString
    var times: Int

    static let declaration = StepKindDeclaration(
        "echo", summary: "Repeat a text (a test kind).",
        shorthand: (.template, "the text"),
        keys: [
            KeyDeclaration("text", .template, required: true, "What to repeat."),
            KeyDeclaration("times", .integer(minimum: 1), default: "1", "How often."),
        ],
        runs: "On this machine, once per batch.", evidence: "`echoed`: the text repeated.", undo: "None.",
        example: "- echo: hello")

    static func decode(shorthand value: any DecodingNode) -> EchoStep? {
        value.template("'echo'").map { EchoStep(text: $0, times: 1) }
    }

    static func decode(_ map: any DecodingMap) -> EchoStep? {
        let text = map.template("text", required: true, expected: "what to repeat")
        let times = map.int("times", min: 1) ?? 1
        if times > 3, let at = map.keyLocation("times") { map.error("'times' above 3 is too loud for a toy", at: at) }
        guard let text else { return nil }
        return EchoStep(text: text, times: times)
    }

    var templates: [TemplateString] { [text] }
    var isReadOnly: Bool { true }
    var runsFromController: Bool { true }

    func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        "echo \(plan.render(text).plainDisplay) ×\(times)"
    }

    func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let rendered = try context.render(text).plainValue
        let echoed = Array(repeating: rendered, count: times).joined(separator: " ")
        return StepOutcome(status: .succeeded, message: echoed, evidence: .record(["echoed": .string(echoed)]))
    }
}
