/// One step of a runbook: what it does (`kind`) and the keys every step shares.
public struct Step: Sendable, Hashable {
    public var id: String?
    public var name: String
    public var kind: StepKind
    public var on: TargetSelector?
    public var when: Expression?
    public var retries: Int
    public var delay: Duration
    public var until: Expression?
    public var timeout: Duration?
    public var register: String?
    public var undo: UndoBox?
    public var ignoreFailure: Bool
    /// What the gate measures, in words (`Cache hit rate`), for reports, JUnit and output.
    public var label: String?
    /// Declared safe to run twice; resume re-runs such a step if it was in flight.
    public var idempotent: Bool
    /// Run the step's `undo` also when the step itself failed (it may have changed something
    /// before failing). nil: the kind's default, see `undoesOnFailure`.
    public var undoOnFailure: Bool?
    /// For a numeric gate: measure at both ends of this window (`delta(x)`, `rate(x)`).
    public var over: GateWindow?
    /// A step with `on:` runs in every batch rather than only the first (`every_batch: true`).
    public var everyBatch: Bool = false
    /// Durations and expectations written as templates, rendered when the run starts.
    public var templated: [TemplatedField] = []
    public var location: SourceLocation

    public init(
        id: String? = nil, name: String, kind: StepKind, on: TargetSelector? = nil, when: Expression? = nil,
        retries: Int = 0, delay: Duration = .seconds(1), until: Expression? = nil, timeout: Duration? = nil,
        register: String? = nil, undo: Step? = nil, ignoreFailure: Bool = false, idempotent: Bool = false,
        location: SourceLocation
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.on = on
        self.when = when
        self.retries = retries
        self.delay = delay
        self.until = until
        self.timeout = timeout
        self.register = register
        self.undo = undo.map(UndoBox.init)
        self.ignoreFailure = ignoreFailure
        self.idempotent = idempotent
        self.location = location
    }

    public var undoStep: Step? { undo?.step }

    /// Whether a failure of this step is undone too: a `migrate` that commits file by file may
    /// have committed some files before failing, so its undo runs by default; `transaction: all`
    /// commits nothing unless everything is, and any other kind only if the runbook says so
    /// (an undo written for a finished change may not fit a half-done one).
    public var undoesOnFailure: Bool {
        guard undo != nil else { return false }
        return undoOnFailure ?? kind.plugin.undoesOnFailureByDefault
    }

    /// Steps that only read or wait may be re-run after a crash without asking.
    /// So are a backup (a new dump over the same file) and a migrate (each file commits with its
    /// bookkeeping row, so a re-run applies exactly what is still pending).
    public var isSafeToRerun: Bool {
        kind.plugin.isSafeToRerunByNature || idempotent || kind.isReadOnly
    }

    /// Whether this failed attempt, with the evidence it left, is undone by a rollback.
    public func undoesFailure(evidence: ConfigValue?) -> Bool {
        guard undoesOnFailure else { return false }
        return kind.plugin.undoesFailure(evidence: evidence)
    }

    /// What an operator may call the step on the command line (`--approve`, `--rerun`, `--skip`):
    /// its name and, when it has one, its id.
    public var commandLineNames: [String] { [name, id].compactMap { $0 } }

    /// `commandLineNames`, and each as `NAME@HOST`, which names the step on that one host (`--rerun b@web1`).
    public func commandLineNames(on host: String?) -> [String] {
        commandLineNames + commandLineNames.map { "\($0)@\(host ?? "-")" }
    }

    /// Every template the step holds, so validation can check each reference once.
    public var templates: [TemplateString] { kind.plugin.templates + templated.map(\.template) }

    /// Every expression the step holds (its own `when`/`until` and its kind's).
    public var expressions: [Expression] { [when, until].compactMap { $0 } + kind.plugin.expressions }

    /// The step and its undo, for passes that must see both.
    public var withUndo: [Step] { [self, undoStep].compactMap { $0 } }
}

/// Indirection so a step can hold its undo step (a value type cannot contain itself directly).
public final class UndoBox: Sendable, Hashable {
    public let step: Step
    public init(_ step: Step) { self.step = step }
    public static func == (lhs: UndoBox, rhs: UndoBox) -> Bool { lhs.step == rhs.step }
    public func hash(into hasher: inout Hasher) { hasher.combine(step) }
}

extension Step {
    public static let rollbackListPlace = "a runbook's rollback: list"
    public static let failureRunbookPlace = "a runbook run by on_failure"
    public static let undoPlace = "an undo"

    /// Why this step cannot stand where a rollback runs it (`place`), or nil. A rollback does not
    /// stop to wait: a step that pauses for approval (an approve step, a gate with
    /// `on_no_data: pause`) was journaled paused while the rollback went on without it.
    public func pauseRefusal(in place: String) -> String? {
        guard kind.canBeApproved else { return nil }
        let what = kind.isApprove ? "an approve step" : "a \(kind.name) gate with on_no_data: pause"
        return "\(what) cannot stand in \(place): a rollback does not stop to wait for approval; to decide before undoing, use on_failure: stop and run `marshal rollback` by hand"
    }
}
