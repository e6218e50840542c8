import Foundation

/// Run a command, extract one number (regex group 1, or a JSON path), hold it to `expect`.
public struct ProbeStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "probe", summary: "Run a command, extract one number (regex group 1 or a JSON path) and hold it to an expectation.",
        keys: [
            KeyDeclaration("command", .template, required: true, "The command to run."),
            KeyDeclaration("regex", .string, "Extract the first group of this regular expression (not with `json`)."),
            KeyDeclaration("json", .string, "Extract this JSON path, such as $.queue.depth (not with `regex`)."),
            KeyDeclaration("expect", .expression, "An expression over `value`."),
            StepDeclarations.noData,
            StepDeclarations.over,
        ],
        runs: .onEachHost,
        evidence: "`value` and the command's `stdout`, `stderr`, `rc`; the check is a measurement.",
        undo: .changesNothing,
        example: """
        - probe: { command: "cat /proc/loadavg", regex: "^([0-9.]+)", expect: "value < 4" }
        """)

    public enum Extract: Sendable, Hashable {
        case regex(String)
        case jsonPath(String)
        case wholeOutput
    }
    public var command: TemplateString
    public var extract: Extract
    public var expect: Expression?
    public var onNoData: NoDataPolicy = .fail

    public static func decode(_ map: any DecodingMap) -> ProbeStep? {
        let command = map.template("command", required: true)
        let regex = map.string("regex")
        let json = map.string("json")
        let expect = map.node("expect")?.takeTemplate(as: .expect) == true ? nil : map.expression("expect")
        let noData = map.choice("on_no_data", as: NoDataPolicy.self) ?? .fail
        if let regex {
            if (try? NSRegularExpression(pattern: regex)) == nil, let loc = map.keyLocation("regex") {
                map.error("'regex' is not a valid regular expression: \(regex)", at: loc)
            }
        }
        if regex != nil, json != nil, let loc = map.keyLocation("json") {
            map.error("a probe extracts with 'regex' or 'json', not both", at: loc)
        }
        if let json, !json.hasPrefix("$"), let loc = map.keyLocation("json") {
            map.error("'json' must be a JSON path starting with $, such as $.queue.depth; found '\(json)'", at: loc)
        }
        guard let command else { return nil }
        let extract: Extract = regex.map { .regex($0) } ?? json.map { .jsonPath($0) } ?? .wholeOutput
        return ProbeStep(command: command, extract: extract, expect: expect, onNoData: noData)
    }

    public var isCheck: Bool { true }
    public var templates: [TemplateString] { [command] }
    public var expressions: [Expression] { [expect].compactMap { $0 } }
    public var isReadOnly: Bool { true }
    public var canBeApproved: Bool { onNoData == .pause }
    public var runsCommandOnHost: Bool { true }

    public func withExpect(_ expression: Expression) -> ProbeStep? { setting(\.expect, to: expression) }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        let shown: String
        switch extract {
        case .regex(let re): shown = " | extract /\(re)/"
        case .jsonPath(let path): shown = " | extract \(path)"
        case .wholeOutput: shown = ""
        }
        return "\(plan.render(command).display)\(shown)\(expect.map { "; expect \($0.source)" } ?? "")"
    }

    public func commands(_ step: Step, in plan: inout PlanDescription) -> [String]? {
        [plan.mask(plan.render(command).display)]
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let (host, executor) = try await target.remote(for: step)
        return try await ProbeRunner.run(self, on: executor, timeout: step.timeout, host: host.name, context: context)
    }
}

extension StepKind {
    public static func probe(_ settings: ProbeStep) -> StepKind { StepKind(settings) }
}
