/// Re-check gates every `interval` for `duration`; the first breach fails the step.
public struct SoakStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "soak", summary: "Re-check a set of gates every interval for a duration; the first breach fails the step.",
        keys: [
            KeyDeclaration("duration", .durationOrTemplate, required: true, "How long to keep checking (may be a template)."),
            KeyDeclaration("interval", .duration, default: "30s", "Time between rounds."),
            KeyDeclaration("gates", .steps, required: true, "Checks: health, http, metric, probe, sql or benchmark steps."),
        ],
        runs: "From this machine, once per batch (probe and sql gates need `on:`).",
        evidence: "`rounds`, and `breached_at` (seconds) when a gate failed; every gate evaluation is a measurement.",
        undo: .changesNothing,
        example: """
        - soak:
            duration: 2m
            interval: 20s
            gates:
              - health: "{{ vars.base_url }}/health"
        """)

    public var duration: Duration
    public var interval: Duration
    public var gates: [Step]

    public static func decode(_ map: any DecodingMap) -> SoakStep? {
        // A templated duration is checked against `interval` when it is rendered.
        let duration = map.node("duration")?.takeTemplate(as: .duration) == true ? Duration.seconds(Int64(Int32.max)) : map.duration("duration", required: true)
        let interval = map.duration("interval") ?? .seconds(30)
        var gates: [Step] = []
        if let list = map.node("gates", required: true, expected: "a list of health, metric, probe or benchmark checks") {
            gates = list.steps("'gates'")
            for gate in gates where !gate.kind.plugin.isCheck {
                map.error("a soak gate must be a check (health, http, metric, probe, sql, benchmark), not a \(gate.kind.name) step", at: gate.location)
            }
        }
        guard let duration else { return nil }
        if interval > duration, let loc = map.keyLocation("interval") {
            map.error("'interval' (\(DurationText.format(interval))) is longer than 'duration' (\(DurationText.format(duration))); the gates would run once at most", at: loc)
        }
        return SoakStep(duration: duration, interval: interval, gates: gates)
    }

    public var templates: [TemplateString] { gates.flatMap(\.templates) }
    public var expressions: [Expression] { gates.flatMap(\.expressions) }
    public var isReadOnly: Bool { true }
    public var runsFromController: Bool { true }
    public var plannedDuration: Duration? { duration }

    public func validate(_ step: Step, report: (String, SourceLocation) -> Void) {
        guard step.on == nil else { return }
        // A soak without `on:` runs from this machine: a gate that runs a command needs a host of its own.
        for gate in gates where gate.on == nil && gate.kind.runsCommandOnHost {
            report("soak gate '\(gate.name)' (\(gate.kind.name)) runs a command on a host, and this soak runs from this machine: give the gate (or the soak) 'on:', a host or role",
                   gate.location)
        }
    }

    public func withDuration(_ duration: Duration, for key: TemplatedField.Key) -> SoakStep? {
        guard key == .duration else { return nil }
        return setting(\.duration, to: duration)
    }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        let shown = gates.map { "[\(plan.describe($0))]" }.joined(separator: " ")
        return "every \(DurationText.format(interval)) for \(DurationText.format(duration)): \(shown)"
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        await SoakRunner(executor: target.executor).run(self, host: target.host, context: context)
    }
}

extension StepKind {
    public static func soak(_ settings: SoakStep) -> StepKind { StepKind(settings) }
}
