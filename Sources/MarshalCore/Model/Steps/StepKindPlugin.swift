/// What one step kind (`shell`, `backup`, `health`, …) is and does, in one place: its declaration
/// (keys, docs, evidence), how it is decoded from its key's value (with positions), what it holds
/// for validation, how `marshal plan` describes it, and how it runs. A kind is one file with one
/// type conforming to this protocol, plus its line in `StepKindRegistry.builtIn`; nothing else in
/// the engine switches over kinds (see docs/architecture.md).
public protocol StepKindPlugin: Sendable, Hashable {
    /// The kind's key as written in a runbook, its keys (read by the decoder, the JSON schema and
    /// the reference docs), where it runs, the evidence it records and how it is undone.
    static var declaration: StepKindDeclaration { get }

    /// Decodes the scalar short form (`shell: "cmd"`, `wait: 30s`); only asked when the declaration
    /// has a `shorthand`. Report problems through `value` and return nil.
    static func decode(shorthand value: any DecodingNode) -> Self?

    /// Decodes the mapping form. The loader has already declared the kind's keys on `map`, read the
    /// common `on:` and will report unknown keys after this returns.
    static func decode(_ map: any DecodingMap) -> Self?

    /// The key a runbook writes (`declaration.name`), per value: `health` and `http` share a type.
    var kindName: String { get }

    /// A name for a step that has none (`name:` and `id:` missing).
    var defaultName: String { get }

    // MARK: Validation

    /// Every template the kind holds, so validation can check each reference once.
    var templates: [TemplateString] { get }
    /// Every expression the kind holds (`expect:`, thresholds), for the same check.
    var expressions: [Expression] { get }
    /// Checks that need the whole step (its `on:`) rather than the kind's own keys.
    func validate(_ step: Step, report: (String, SourceLocation) -> Void)

    // MARK: Traits the engine asks about

    /// Only reads or waits: nothing to undo, safe to re-run after a crash.
    var isReadOnly: Bool { get }
    /// An `undo:` makes sense on it (it may change something).
    var acceptsUndo: Bool { get }
    /// Without `on:`, runs once per batch from this machine rather than on each host.
    var runsFromController: Bool { get }
    /// Runs from this machine once for each target host (with that host's variables) rather than
    /// once per batch.
    var runsForEachHost: Bool { get }
    /// Runs a command on a host, so it needs one even inside a `soak` run from this machine.
    var runsCommandOnHost: Bool { get }
    /// Holds a measurement to an expectation, so it may be one of a `soak`'s gates.
    var isCheck: Bool { get }
    /// `--approve` can name it (approve steps, and gates with `on_no_data: pause`).
    var canBeApproved: Bool { get }
    /// Re-run after a crash without asking (beyond read-only kinds and `idempotent: true`).
    var isSafeToRerunByNature: Bool { get }
    /// How long it waits by the clock, for the live elapsed/total line; nil for steps that do not.
    var plannedDuration: Duration? { get }
    /// Whether a failed attempt with this evidence is undone (when the step undoes on failure).
    func undoesFailure(evidence: ConfigValue?) -> Bool
    /// Whether a failure is undone by default, when `undo_on_failure` is not given.
    var undoesOnFailureByDefault: Bool { get }

    // MARK: Templated fields (`TemplatedField`), rendered when the run starts

    /// The kind with its templated duration (`key`) set; nil when it has no such field.
    func withDuration(_ duration: Duration, for key: TemplatedField.Key) -> Self?
    /// The kind with its templated `expect` set; nil when it has none.
    func withExpect(_ expression: Expression) -> Self?

    // MARK: Plan and run

    /// What the step will do on one host (or once from here), rendered and masked, for `marshal plan`.
    func describe(_ step: Step, in plan: inout PlanDescription) -> String

    /// The exact commands the step will send to one host, masked, built by the same builders the
    /// run uses, so they equal what the journal records as `command` (values known only at run
    /// time appear as references such as `{{ steps.backup.path }}`); nil for kinds that send none.
    func commands(_ step: Step, in plan: inout PlanDescription) -> [String]?

    /// Carries the step out once (the executor handles `when`, retries, `until`, `ignore_failure`).
    func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome
}

extension StepKindPlugin {
    public var kindName: String { Self.declaration.name }
    public var defaultName: String { kindName }
    public static func decode(shorthand value: any DecodingNode) -> Self? { nil }
    public var templates: [TemplateString] { [] }
    public var expressions: [Expression] { [] }
    public func validate(_ step: Step, report: (String, SourceLocation) -> Void) {}
    public var isReadOnly: Bool { false }
    public var acceptsUndo: Bool { !isReadOnly }
    public var runsFromController: Bool { false }
    public var runsForEachHost: Bool { !runsFromController }
    public var runsCommandOnHost: Bool { false }
    public var isCheck: Bool { false }
    public var canBeApproved: Bool { false }
    public var isSafeToRerunByNature: Bool { false }
    public var plannedDuration: Duration? { nil }
    public func undoesFailure(evidence: ConfigValue?) -> Bool { true }
    public var undoesOnFailureByDefault: Bool { false }
    public func withDuration(_ duration: Duration, for key: TemplatedField.Key) -> Self? { nil }
    public func withExpect(_ expression: Expression) -> Self? { nil }

    /// A copy with one field set: what a kind's `withDuration` or `withExpect` returns for the
    /// field it owns.
    public func setting<Value>(_ field: WritableKeyPath<Self, Value>, to value: Value) -> Self {
        var copy = self
        copy[keyPath: field] = value
        return copy
    }
    public func commands(_ step: Step, in plan: inout PlanDescription) -> [String]? { nil }
}

/// Default step names are cut to one readable line.
public enum DefaultStepName {
    public static func short(_ text: String) -> String { text.count > 60 ? String(text.prefix(57)) + "…" : text }
}
