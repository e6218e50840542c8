/// The step kinds a runbook may use, by key. Adding a kind: write its file (a type conforming to
/// `StepKindPlugin`) and add one line here; a program or test may also pass its own registry to
/// the loader (`Loader.kinds`), e.g. `.builtIn.adding(MyKind.self)`.
public struct StepKindRegistry: Sendable {
    public private(set) var kinds: [any StepKindPlugin.Type]

    public init(_ kinds: [any StepKindPlugin.Type]) { self.kinds = kinds }

    public static let builtIn = StepKindRegistry([
        ShellStep.self,
        UploadStep.self,
        ReleaseStep.self,
        ServiceStep.self,
        MigrateStep.self,
        BackupStep.self,
        RestoreStep.self,
        SQLStep.self,
        HTTPStep.self,
        HealthStep.self,
        BenchmarkStep.self,
        ProbeStep.self,
        MetricStep.self,
        RedisStep.self,
        SoakStep.self,
        ApproveStep.self,
        WaitStep.self,
        NotifyStep.self,
        IncludeStep.self,
    ])

    /// This registry with one more kind (a kind of the same name replaces the earlier one).
    public func adding(_ kind: any StepKindPlugin.Type) -> StepKindRegistry {
        StepKindRegistry(kinds.filter { $0.declaration.name != kind.declaration.name } + [kind])
    }

    /// Every kind's key, as written in a runbook.
    public var names: [String] { kinds.map { $0.declaration.name } }

    public var declarations: [StepKindDeclaration] { kinds.map { $0.declaration } }

    public func kind(named name: String) -> (any StepKindPlugin.Type)? {
        kinds.first { $0.declaration.name == name }
    }
}
