/// A webhook POST at chosen moments; never fails the run by itself.
public struct NotifyStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "notify", summary: "POST to a webhook at chosen moments; never fails the run by itself.",
        keys: [
            KeyDeclaration("url", .template, required: true, "The webhook URL, usually `{{ secrets.NAME }}`."),
            KeyDeclaration("events", .listOrOne(.choice(NotifyStep.Event.allCases.map(\.rawValue))), default: "now",
                           "When to post: now (where the step is), or at the run's start, failure, rollback, success."),
            KeyDeclaration("body", .any, default: "{ event, run, summary }", "JSON body."),
            KeyDeclaration("timeout", .duration, default: "5s", "Request timeout."),
        ],
        runs: "On this machine.",
        evidence: "The response status in the step's message.",
        undo: "None.",
        example: """
        - notify: { url: "{{ secrets.slack_webhook }}", events: [failure, success] }
        """)

    public enum Event: String, Sendable, Hashable, CaseIterable { case start, failure, rollback, success, now }
    public var url: TemplateString
    public var events: [Event] = [.now]
    public var body: ConfigValue?
    public var timeout: Duration = .seconds(5)

    public static func decode(_ map: any DecodingMap) -> NotifyStep? {
        let url = map.template("url", required: true, expected: "the webhook URL, usually {{ secrets.NAME }}")
        var events: [Event] = [.now]
        if let node = map.node("events") {
            events = node.listOrSingle().compactMap { $0.choice("an event of 'events'", as: Event.self) }
        }
        let body = map.node("body").map { $0.configValue() }
        let timeout = map.duration("timeout") ?? .seconds(5)
        guard let url else { return nil }
        return NotifyStep(url: url, events: events, body: body, timeout: timeout)
    }

    public var templates: [TemplateString] { [url] }
    public var acceptsUndo: Bool { false }
    public var runsFromController: Bool { true }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        "POST \(plan.render(url).plainDisplay) on \(events.map(\.rawValue).joined(separator: ", "))"
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let http = try target.httpGates(for: step).http
        guard events.contains(.now) else {
            return StepOutcome(status: .skipped, message: "fires on \(events.map(\.rawValue).joined(separator: ", "))")
        }
        return try await Notifier(http: http).send(self, event: "now", summary: nil, context: context)
    }
}

extension StepKind {
    public static func notify(_ settings: NotifyStep) -> StepKind { StepKind(settings) }
}
