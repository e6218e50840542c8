/// A Prometheus instant query held to an expectation.
public struct MetricStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "metric", summary: "A Prometheus instant query held to an expectation.",
        keys: [
            KeyDeclaration("prometheus", .template, required: true, "The Prometheus base URL."),
            KeyDeclaration("query", .template, required: true, "A PromQL instant query."),
            KeyDeclaration("expect", .expression, "An expression over `value`."),
            StepDeclarations.noData,
            StepDeclarations.over,
        ],
        runs: "From this machine, once per batch.",
        evidence: "`value`, `query`; the check is a measurement.",
        undo: .changesNothing,
        example: """
        - metric: { prometheus: "{{ vars.prometheus }}", query: "sum(rate(http_errors_total[1m]))", expect: "value < 1" }
        """)

    public var prometheus: TemplateString
    public var query: TemplateString
    public var expect: Expression?
    public var onNoData: NoDataPolicy = .fail

    public static func decode(_ map: any DecodingMap) -> MetricStep? {
        let prometheus = map.template("prometheus", required: true, expected: "the Prometheus base URL")
        let query = map.template("query", required: true, expected: "a PromQL instant query")
        let expect = map.node("expect")?.takeTemplate(as: .expect) == true ? nil : map.expression("expect")
        let noData = map.choice("on_no_data", as: NoDataPolicy.self) ?? .fail
        guard let prometheus, let query else { return nil }
        return MetricStep(prometheus: prometheus, query: query, expect: expect, onNoData: noData)
    }

    public var isCheck: Bool { true }
    public var templates: [TemplateString] { [prometheus, query] }
    public var expressions: [Expression] { [expect].compactMap { $0 } }
    public var isReadOnly: Bool { true }
    public var runsFromController: Bool { true }
    public var canBeApproved: Bool { onNoData == .pause }

    public func withExpect(_ expression: Expression) -> MetricStep? { setting(\.expect, to: expression) }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        "prometheus \(plan.render(prometheus).plainDisplay): \(plan.render(query).plainDisplay)\(expect.map { "; expect \($0.source)" } ?? "")"
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        try await MetricCheck(http: target.httpGates(for: step).http).run(self, context: context)
    }
}

extension StepKind {
    public static func metric(_ settings: MetricStep) -> StepKind { StepKind(settings) }
}
