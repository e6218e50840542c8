/// `health:` an HTTP request that only checks (never undone, never a change), retried `within`.
public struct HealthStep: StepKindPlugin {
    public var request: HTTPStep
    public init(request: HTTPStep) { self.request = request }

    public static let declaration = StepDeclarations.httpKind("health", summary: "Check a health URL, retrying `within` a time.", example: """
        - health: { url: "{{ vars.base_url }}/health", expect: { status: 200, json: { "$.status": ok } }, within: 30s }
        """)

    public static func decode(shorthand value: any DecodingNode) -> HealthStep? {
        value.template("'health'").map { HealthStep(request: HTTPStep(url: $0)) }
    }

    public static func decode(_ map: any DecodingMap) -> HealthStep? {
        HTTPStep.decodeRequest(map, declaration: declaration.object).map(HealthStep.init)
    }

    public var defaultName: String { "health \(DefaultStepName.short(request.url.source))" }
    public var isCheck: Bool { true }
    public var templates: [TemplateString] { request.templates }
    public var expressions: [Expression] { request.expressions }
    public var isReadOnly: Bool { true }
    public var runsFromController: Bool { true }
    public var runsForEachHost: Bool { true }
    public var plannedDuration: Duration? { request.within }

    public func withDuration(_ duration: Duration, for key: TemplatedField.Key) -> HealthStep? {
        request.withDuration(duration, for: key).map(HealthStep.init)
    }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String { request.describe(step, in: &plan) }
    public func commands(_ step: Step, in plan: inout PlanDescription) -> [String]? { request.commands(step, in: &plan) }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        try await request.run(step, on: target, context: context)
    }
}

extension StepKind {
    public static func health(_ settings: HTTPStep) -> StepKind { StepKind(HealthStep(request: settings)) }
}
