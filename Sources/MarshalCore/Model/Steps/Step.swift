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

    /// Steps that only read or wait may be re-run after a crash without asking.
    public var isSafeToRerun: Bool { idempotent || kind.isReadOnly }
}

/// Indirection so a step can hold its undo step (a value type cannot contain itself directly).
public final class UndoBox: Sendable, Hashable {
    public let step: Step
    public init(_ step: Step) { self.step = step }
    public static func == (lhs: UndoBox, rhs: UndoBox) -> Bool { lhs.step == rhs.step }
    public func hash(into hasher: inout Hasher) { hasher.combine(step) }
}
