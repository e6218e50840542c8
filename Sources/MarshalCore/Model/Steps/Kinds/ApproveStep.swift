/// Pause until an operator approves (`--approve NAME` or interactively).
public struct ApproveStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "approve", summary: "Pause until an operator approves (interactively, or `--approve ID` on run/resume).",
        shorthand: (.template, "the message shown"),
        keys: [
            KeyDeclaration("message", .template, "What the operator is asked."),
        ],
        runs: .onThisMachinePerBatch,
        evidence: "Who approved, in the journal.",
        undo: .changesNothing,
        example: """
        - id: go_live
          approve: "Canary looks good: continue to the rest?"
        """)

    public var message: TemplateString?

    public static func decode(shorthand value: any DecodingNode) -> ApproveStep? {
        ApproveStep(message: value.template("'approve'"))
    }

    public static func decode(_ map: any DecodingMap) -> ApproveStep? {
        ApproveStep(message: map.template("message"))
    }

    public var templates: [TemplateString] { [message].compactMap { $0 } }
    public var isReadOnly: Bool { true }
    public var runsFromController: Bool { true }
    public var canBeApproved: Bool { true }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        "pause for approval\(message.map { ": \(plan.render($0).plainDisplay)" } ?? "") (resume with --approve '\(step.id ?? step.name)')"
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let shown = try message.map { (t: TemplateString) throws(StepFailure) in try context.render(t).plainDisplay }
        if context.isApproved(step) {
            return StepOutcome(status: .succeeded, message: "approved with --approve" + (shown.map { ": \($0)" } ?? ""))
        }
        return StepOutcome(status: .paused, message: "waiting for approval\(shown.map { ": \($0)" } ?? ""); " + context.resumeHint(for: step))
    }
}

extension StepKind {
    public static func approve(_ settings: ApproveStep) -> StepKind { StepKind(settings) }
}
