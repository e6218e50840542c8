/// Run the steps of another runbook here, with params given. The engine expands it before a run
/// (`ExpandedStep`), so it never runs as a step itself.
public struct IncludeStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "include", summary: "Run the steps of another runbook here.",
        shorthand: (.string, "the runbook (name or path beside this one)"),
        keys: [
            KeyDeclaration("runbook", .string, required: true, "Name or path of the runbook."),
            KeyDeclaration("params", .dictionary(.any), "Its params, rendered once when the run starts (so not from a step's evidence)."),
        ],
        placedByOn: false,
        runs: "Its steps run where they say, in the including run's batches. It takes none of the keys that place or repeat a step (`id`, `on`, `when`, `retries`, `timeout`, …): `validate` refuses them, because its steps carry their own. The included runbook's `targets`, `preflight`, `rollback` and `on_failure` are not used (`validate` warns).",
        evidence: "That of its steps.",
        undo: "That of its steps.",
        example: """
        - include: { runbook: smoke-tests, params: { base_url: "{{ vars.base_url }}" } }
        """)

    public var runbook: String
    public var params: [ConfigEntry]
    public var location: SourceLocation

    public static func decode(shorthand value: any DecodingNode) -> IncludeStep? {
        value.string("'include'").map { IncludeStep(runbook: $0, params: [], location: value.location) }
    }

    public static func decode(_ map: any DecodingMap) -> IncludeStep? {
        guard let runbook = map.string("runbook", required: true) else { return nil }
        let params = map.node("params").map { $0.configEntries("'params'") } ?? []
        return IncludeStep(runbook: runbook, params: params, location: map.location)
    }

    public var runsFromController: Bool { true }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        "include runbook \(runbook)"
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        .failed("an include step must be expanded before it runs")
    }
}

extension StepKind {
    public static func include(_ settings: IncludeStep) -> StepKind { StepKind(settings) }
}
