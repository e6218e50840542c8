/// Wait a fixed time.
public struct WaitStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "wait", summary: "Wait a fixed time.",
        shorthand: (.durationOrTemplate, "how long"),
        keys: [
            KeyDeclaration("duration", .durationOrTemplate, required: true, "How long: a duration, or a template such as \"{{ params.pause }}\" rendered when the run starts."),
        ],
        runs: .onThisMachinePerBatch,
        evidence: "None beyond start and end.",
        undo: .changesNothing,
        example: """
        - wait: 10s
        """)

    public var duration: Duration

    public static func decode(shorthand value: any DecodingNode) -> WaitStep? {
        if value.takeTemplate(as: .duration) { return WaitStep(duration: .zero) }
        return value.duration("'wait'").map { WaitStep(duration: $0) }
    }

    public static func decode(_ map: any DecodingMap) -> WaitStep? {
        if map.node("duration")?.takeTemplate(as: .duration) == true { return WaitStep(duration: .zero) }
        guard let duration = map.duration("duration", required: true) else { return nil }
        return WaitStep(duration: duration)
    }

    public var defaultName: String { "wait \(DurationText.format(duration))" }
    public var isReadOnly: Bool { true }
    public var runsFromController: Bool { true }
    public var plannedDuration: Duration? { duration }
    public func withDuration(_ duration: Duration, for key: TemplatedField.Key) -> WaitStep? {
        key == .duration ? WaitStep(duration: duration) : nil
    }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        "wait \(DurationText.format(duration))"
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        try? await context.clock.sleep(for: duration)
        if Task.isCancelled { return .failed("interrupted while waiting") }
        return StepOutcome(status: .succeeded, message: "waited \(DurationText.format(duration))")
    }
}

extension StepKind {
    public static func wait(_ settings: WaitStep) -> StepKind { StepKind(settings) }
}
