/// Capistrano-style release: `PATH/releases/<id>/`, `PATH/current` switched atomically, `keep` kept.
public struct ReleaseStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "release", summary: "Capistrano-style release: unpack to PATH/releases/ID, switch PATH/current atomically, keep the last few.",
        keys: [
            KeyDeclaration("artifact", .template, required: true, "A tarball on this machine, such as build/app.tar.gz."),
            KeyDeclaration("path", .template, required: true, "The application folder on the host."),
            KeyDeclaration("id", .template, default: "the run id", "The release's folder name."),
            KeyDeclaration("keep", .integer(minimum: 1), default: "5", "Releases kept; older ones are removed."),
        ],
        runs: .onEachHost,
        evidence: "`release`, `previous` (the release that was live), `path`, `sha256`, `bytes`.",
        undo: "Automatic on rollback: `current` is switched back to `previous` (then its own `undo`, if any, runs).",
        example: """
        - release: { artifact: "build/app-{{ params.release }}.tar.gz", path: "{{ vars.app_dir }}", keep: 5 }
        """)

    public var artifact: TemplateString
    public var path: TemplateString
    public var releaseID: TemplateString?
    public var keep: Int = 5

    public static func decode(_ map: any DecodingMap) -> ReleaseStep? {
        let artifact = map.template("artifact", required: true, expected: "a tarball such as build/app.tar.gz")
        let path = map.template("path", required: true, expected: "the application directory")
        let id = map.template("id")
        if let id {
            // A constant id is checked whole; a templated one for what its literal text adds.
            let literal = TemplateSyntax(id).parts.compactMap { if case .literal(let t) = $0 { t } else { nil } }.joined()
            let problem = id.isConstant ? PathComponent.problem(id.source)
                : literal.contains("/") ? "'\(id.source)' contains '/'" : nil
            if let problem { map.error("'id': release id is not usable: \(problem); \(PathComponent.rule)", at: id.location) }
        }
        let keep = map.int("keep", min: 1) ?? 5
        guard let artifact, let path else { return nil }
        return ReleaseStep(artifact: artifact, path: path, releaseID: id, keep: keep)
    }

    public var templates: [TemplateString] { [artifact, path, releaseID].compactMap { $0 } }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        let id = releaseID.map { plan.render($0).plainDisplay } ?? "<run id>"
        if let template = releaseID, !id.contains("{{"), let problem = PathComponent.problem(id) {
            plan.error("release id is not usable: \(problem); \(PathComponent.rule)", at: template.location)
        }
        if let problem = PathComponent.problemInParams(path, params: plan.scope.params) { plan.error("release path: \(problem)", at: path.location) }
        let folder = plan.render(path).plainDisplay
        return "release \(plan.render(artifact).plainDisplay) → \(folder)/releases/\(id), switch \(folder)/current, keep \(keep)"
    }

    /// What a release sends, in order, when it succeeds (a failure sends a clean-up instead of the
    /// rest): the runner and the plan both take the commands from here.
    struct Commands {
        var path: String
        var id: String
        var tarball: String { "\(path)/releases/.marshal-\(id).tar.gz" }
        var prepare: ShellCommand { ShellCommand([.literal("mkdir -p "), .quoted(path + "/releases")]) }
        var unpack: ShellCommand { ReleaseCommands.unpack(path: path, releaseID: id, tarball: tarball) }
        var switchCurrent: ShellCommand {
            ReleaseCommands.switchCurrent(path: path, releaseID: id) + ShellCommand([.literal("; rm -f "), .quoted(tarball)])
        }
        func prune(keep: Int) -> ShellCommand { ReleaseCommands.prune(path: path, keep: keep) }
        static let tarballMode: Int32 = 0o600
    }

    public func commands(_ step: Step, in plan: inout PlanDescription) -> [String]? {
        let artifact = plan.render(artifact).plainValue
        let sent = Commands(path: plan.render(path).plainValue, id: releaseID.map { plan.render($0).plainValue } ?? plan.runId)
        return [sent.prepare.display, UploadText.describe(local: artifact, remote: sent.tarball, mode: Commands.tarballMode),
                sent.unpack.display, sent.switchCurrent.display, sent.prune(keep: keep).display].map { plan.mask($0) }
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let (_, executor) = try await target.remote(for: step)
        return try await ReleaseRunner.run(self, on: executor, timeout: step.timeout, context: context)
    }
}

extension StepKind {
    public static func release(_ settings: ReleaseStep) -> StepKind { StepKind(settings) }
}
