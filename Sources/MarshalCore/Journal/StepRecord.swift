import Foundation

/// One step on one host (or on no host, for `wait`, `approve`…), written when it starts and again when it ends.
///
/// Commands and output are stored as the caller gives them: mask secrets before they get here.
public struct StepRecord: Sendable, Hashable, Codable {
    public enum Phase: String, Sendable, Hashable, Codable, CaseIterable {
        case preflight, main, undo, soak
    }

    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case started
        case succeeded
        case failed
        case skipped
        case timedOut = "timed_out"
        /// Failed, but the step has `ignore_failure: true`.
        case ignoredFailure = "ignored_failure"
        /// A check that could not decide (probe output unparsable, metric missing).
        case inconclusive
        /// Waiting for an operator (an approve step, or a gate with `on_no_data: pause`): the run
        /// stopped there on purpose; `resume --approve` runs the step again.
        case paused

        public var isFinished: Bool { self != .started && self != .paused }
    }

    public var runId: String
    /// Position in the run's journal, 1-based, assigned by the store on `appendStep`.
    public var sequence: Int
    /// Index of the step in the runbook (0-based, in its phase's list).
    public var stepIndex: Int
    /// The step's `id:` key, when it has one.
    public var stepId: String?
    public var name: String
    /// Step kind: `shell`, `upload`, `health`…; undo steps are `undo:<kind>`.
    public var kind: String
    public var phase: Phase
    /// Host name from the environment; nil for steps that run on no host.
    public var host: String?
    /// Batch number from the strategy, 1-based (as printed); nil for preflight and host-less steps.
    public var batch: Int?
    public var status: Status
    public var startedAt: Date
    public var endedAt: Date?
    public var exitStatus: Int32?
    /// Signal name when the command was killed by one (`TERM`, `KILL`).
    public var signal: String?
    /// The command as displayed (`ShellCommand.display`), secrets shown as `***`.
    public var command: String?
    /// Bounded excerpts, see `OutputExcerpt`.
    public var stdout: String
    public var stderr: String
    /// Values captured with `register:`, as JSON.
    public var registeredJSON: String?
    public var attempts: Int
    public var message: String?

    public init(
        runId: String, sequence: Int = 0, stepIndex: Int, stepId: String? = nil, name: String, kind: String,
        phase: Phase = .main, host: String? = nil, batch: Int? = nil, status: Status = .started,
        startedAt: Date, endedAt: Date? = nil, exitStatus: Int32? = nil, signal: String? = nil,
        command: String? = nil, stdout: String = "", stderr: String = "", registeredJSON: String? = nil,
        attempts: Int = 1, message: String? = nil
    ) {
        self.runId = runId
        self.sequence = sequence
        self.stepIndex = stepIndex
        self.stepId = stepId
        self.name = name
        self.kind = kind
        self.phase = phase
        self.host = host
        self.batch = batch
        self.status = status
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.exitStatus = exitStatus
        self.signal = signal
        self.command = command
        self.stdout = stdout
        self.stderr = stderr
        self.registeredJSON = registeredJSON
        self.attempts = attempts
        self.message = message.map(ControlCharacters.escape)
    }
}

/// How a started step ended; written over the step's row by `finishStep`.
public struct StepCompletion: Sendable, Hashable, Codable {
    public var status: StepRecord.Status
    public var endedAt: Date
    public var exitStatus: Int32?
    public var signal: String?
    public var stdout: String
    public var stderr: String
    public var registeredJSON: String?
    public var attempts: Int
    public var message: String?
    /// The exact commands (or request) the step sent, masked, one per line; nil for steps that
    /// send none. Optional in the encoding, so spool files written before it still read.
    public var command: String?

    public init(
        status: StepRecord.Status, endedAt: Date, exitStatus: Int32? = nil, signal: String? = nil,
        stdout: String = "", stderr: String = "", registeredJSON: String? = nil, attempts: Int = 1,
        message: String? = nil, command: String? = nil
    ) {
        self.command = command
        self.status = status
        self.endedAt = endedAt
        self.exitStatus = exitStatus
        self.signal = signal
        self.stdout = stdout
        self.stderr = stderr
        self.registeredJSON = registeredJSON
        self.attempts = attempts
        // Messages quote hosts and servers; escaped before the journal stores them (see OutputExcerpt).
        self.message = message.map(ControlCharacters.escape)
    }
}

extension StepRecord {
    /// The record a run writes when it decides to roll back (`UndoKey.markerKind`): a decision, not
    /// a step. Its status is always `succeeded`, which next to a failed undo read as "the rollback
    /// succeeded"; it is shown as `began`, with the reason, instead.
    public var isRollbackDecision: Bool { phase == .undo && kind == UndoKey.markerKind }
}
