/// `shell: "cmd"` or `shell: { command: …, chdir: …, raw: true }`.
public struct ShellStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "shell", summary: "Run a shell command on each host.",
        shorthand: (.template, "the command"),
        keys: [
            KeyDeclaration("command", .template, required: true, "The command (values are shell-quoted; `| raw` opts out)."),
            KeyDeclaration("chdir", .template, "Folder to run in."),
        ],
        runs: .onEachHost,
        evidence: "`stdout`, `stdout_lines`, `stderr`, `rc`, `duration`, `truncated` (each stream is kept up to 64 KiB).",
        example: """
        - name: Record the release
          shell: { command: "echo {{ params.release }} >> releases.log", chdir: "{{ vars.app_dir }}" }
          undo: { shell: "sed -i '$ d' {{ vars.app_dir }}/releases.log" }
        """)

    public var command: TemplateString
    public var chdir: TemplateString?

    public static func decode(shorthand value: any DecodingNode) -> ShellStep? {
        value.template("'shell'").map { ShellStep(command: $0) }
    }

    public static func decode(_ map: any DecodingMap) -> ShellStep? {
        guard let command = map.template("command", required: true) else { return nil }
        return ShellStep(command: command, chdir: map.template("chdir"))
    }

    public var defaultName: String { DefaultStepName.short(command.source.split(separator: "\n").first.map(String.init) ?? kindName) }
    public var templates: [TemplateString] { [command, chdir].compactMap { $0 } }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        let rendered = plan.render(command).display
        guard let chdir else { return rendered }
        return "cd \(plan.render(chdir).display) && \(rendered)"
    }

    /// The command as sent: `cd DIR && ` (the folder one quoted word) before the author's text.
    static func command(_ rendered: RenderedText, chdir: RenderedText?) -> ShellCommand {
        guard let chdir else { return rendered }
        return ShellCommand([.literal("cd ")] + chdir.quotedFragments + [.literal(" && ")]) + rendered
    }

    public func commands(_ step: Step, in plan: inout PlanDescription) -> [String]? {
        let rendered = plan.render(command)
        return [plan.mask(Self.command(rendered, chdir: chdir.map { plan.render($0) }).display)]
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let (_, executor) = try await target.remote(for: step)
        let rendered = Self.command(try context.render(command), chdir: try chdir.map { (t: TemplateString) throws(StepFailure) in try context.render(t) })
        return await RemoteCommand.run(rendered, on: executor, timeout: step.timeout, context: context).outcome
    }
}

extension StepKind {
    public static func shell(_ settings: ShellStep) -> StepKind { StepKind(settings) }
}
