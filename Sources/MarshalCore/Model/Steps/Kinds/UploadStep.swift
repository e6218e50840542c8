/// `upload: { src: local, dest: remote, mode: "0644" }`.
public struct UploadStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "upload", summary: "Copy a file from this machine to each host, checked by sha256.",
        keys: [
            KeyDeclaration("src", .template, required: true, "The local file."),
            KeyDeclaration("dest", .template, required: true, "The path on the host."),
            KeyDeclaration("mode", .fileMode, default: "0644", "Octal file mode, best quoted: \"0644\"."),
        ],
        runs: .onEachHost,
        evidence: "The command line of the copy; the sha256 is compared after writing.",
        example: """
        - upload: { src: "config/app.env", dest: "{{ vars.app_dir }}/app.env", mode: "0600" }
        """)

    public var source: TemplateString
    public var destination: TemplateString
    public var mode: Int32 = 0o644

    public static func decode(_ map: any DecodingMap) -> UploadStep? {
        let src = map.template("src", required: true, expected: "the local file")
        let dest = map.template("dest", required: true, expected: "the path on the host")
        let mode = decodeMode(map)
        guard let src, let dest else { return nil }
        return UploadStep(source: src, destination: dest, mode: mode ?? 0o644)
    }

    private static func decodeMode(_ map: any DecodingMap) -> Int32? {
        guard let node = map.node("mode") else { return nil }
        guard let text = node.scalarText, let mode = Int32(text, radix: 8), (0...0o7777).contains(mode) else {
            node.error("'mode' must be an octal file mode such as \"0644\", found \(node.described)", at: node.location)
            return nil
        }
        return mode
    }

    public var templates: [TemplateString] { [source, destination] }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        "upload \(plan.render(source).plainDisplay) → \(plan.render(destination).plainDisplay) (mode \(String(mode, radix: 8)), sha256 checked)"
    }

    public func commands(_ step: Step, in plan: inout PlanDescription) -> [String]? {
        [plan.mask(UploadText.describe(local: plan.render(source).plainValue, remote: plan.render(destination).plainValue, mode: mode))]
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let (_, executor) = try await target.remote(for: step)
        return try await UploadRunner.run(self, on: executor, context: context)
    }
}

extension StepKind {
    public static func upload(_ settings: UploadStep) -> StepKind { StepKind(settings) }
}
