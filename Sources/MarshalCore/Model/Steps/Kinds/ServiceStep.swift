/// Start, stop, restart, reload or check a service under pm2, systemd or supervisor.
public struct ServiceStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "service", summary: "Start, stop, restart, reload or check a service under pm2, systemd or supervisor.",
        keys: [
            KeyDeclaration("manager", .choiceOrTemplate(ServiceStep.Manager.allCases.map(\.rawValue)), required: true, "pm2, systemd or supervisor (or a template such as `{{ vars.process_manager }}`)."),
            KeyDeclaration("action", .choice(ServiceStep.Action.allCases.map(\.rawValue)), required: true, "What to do."),
            KeyDeclaration("name", .template, required: true, "The program or unit name."),
            KeyDeclaration("config", .template, "supervisord's config file (`supervisorctl -c`)."),
        ],
        runs: .onEachHost,
        evidence: "`name`, `state`, `pid`, `uptime`, `restarts` as the manager reports them after the action.",
        undo: "Only what its `undo` step does (a release's rollback is usually followed by a reload).",
        example: """
        - service: { manager: supervisor, action: restart, name: app, config: "{{ vars.app_dir }}/supervisord.conf" }
        """)

    public enum Manager: String, Sendable, Hashable, CaseIterable { case pm2, systemd, supervisor }
    public enum Action: String, Sendable, Hashable, CaseIterable { case start, stop, restart, reload, status }
    /// A manager name, or a template such as `{{ vars.process_manager }}` checked when rendered.
    public var manager: TemplateString
    public var action: Action
    public var name: TemplateString
    /// supervisor's config file, for `supervisorctl -c`.
    public var config: TemplateString?

    public static func decode(_ map: any DecodingMap) -> ServiceStep? {
        let manager = map.template("manager", required: true, expected: "pm2, systemd or supervisor")
        if let manager, manager.isConstant, Manager(rawValue: manager.source) == nil {
            let names = Manager.allCases.map(\.rawValue)
            map.error("'manager': unknown value '\(manager.source)'; expected one of \(names.joined(separator: ", "))\(Suggestion.hint(for: manager.source, in: names))", at: manager.location)
        }
        let action = map.choice("action", as: Action.self, required: true)
        let name = map.template("name", required: true, expected: "the program or unit name")
        let config = map.template("config")
        guard let manager, let action, let name else { return nil }
        return ServiceStep(manager: manager, action: action, name: name, config: config)
    }

    public var defaultName: String { "\(manager.source) \(action.rawValue) \(name.source)" }
    public var templates: [TemplateString] { [manager, name, config].compactMap { $0 } }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        let managerName = plan.render(manager).plainValue
        guard let manager = Manager(rawValue: managerName) else {
            plan.error("'manager' rendered to '\(managerName)'; expected pm2, systemd or supervisor", at: self.manager.location)
            return "?"
        }
        return ServiceCommands.command(manager: manager, action: action, name: plan.render(name).plainValue,
                                       config: config.map { plan.render($0).plainValue }).display
    }

    public func commands(_ step: Step, in plan: inout PlanDescription) -> [String]? {
        guard let manager = Manager(rawValue: plan.render(manager).plainValue) else { return nil }
        return [plan.mask(ServiceCommands.command(manager: manager, action: action, name: plan.render(name).plainValue,
                                                  config: config.map { plan.render($0).plainValue }).display)]
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let (_, executor) = try await target.remote(for: step)
        return try await ServiceRunner.run(self, on: executor, timeout: step.timeout, context: context)
    }
}

extension StepKind {
    public static func service(_ settings: ServiceStep) -> StepKind { StepKind(settings) }
}
