import Foundation

/// Everything a run is started with, resolved and checked by the CLI before anything changes.
public struct RunRequest: Sendable {
    public var runId: String
    public var runbook: Runbook
    public var environment: Environment
    public var params: [String: ConfigValue]
    public var secrets: [String: Secret]
    /// Marshal's own process environment, for `{{ env.X }}`.
    public var processEnvironment: [String: String]
    public var limit: [String]?
    public var operatorName: String
    public var pid: Int32
    /// Names or ids of `approve` steps approved up front (`--approve`).
    public var approvals: Set<String>
    public var kind: RunRecord.Kind
    public var parentRunId: String?
    public var startedAt: Date
    /// How long the environment lock lives without renewal.
    public var lockLease: Duration
    /// How long to wait for a lock another live run holds before giving up (`--lock-wait`); zero: do not wait.
    public var lockWait: Duration = .zero
    /// The operator's reason, kept with the lock and shown to whoever finds it held (`-m`, as Kamal's).
    public var lockMessage: String?
    /// The runbook and includes as read for this run, journaled with its inputs (rollback and resume
    /// from any machine use them instead of the files' paths).
    public var documents: [JournaledDocument] = []
    /// What `baseline.<step id>.<metric>` in a gate reads (`--baseline RUN`, else last-success).
    public var baseline: Baseline? = nil
    /// For `resume`: what the interrupted run already did.
    public var prior: PriorProgress?
    /// For a resume or rollback: the runs of the story it planned from (the rollout, its resumes and
    /// rollbacks) with their status when it read the journal. Once the lock is held, a new run in
    /// that story or a changed status means someone went on while this one waited: it does not
    /// start. nil: not checked.
    public var journalAsRead: [String: RunRecord.Status]?

    public init(runId: String, runbook: Runbook, environment: Environment, params: [String: ConfigValue],
                secrets: [String: Secret], processEnvironment: [String: String] = [:], limit: [String]? = nil,
                operatorName: String, pid: Int32, approvals: Set<String> = [], kind: RunRecord.Kind = .rollout,
                parentRunId: String? = nil, startedAt: Date, lockLease: Duration = .seconds(30)) {
        self.runId = runId
        self.runbook = runbook
        self.environment = environment
        self.params = params
        self.secrets = secrets
        self.processEnvironment = processEnvironment
        self.limit = limit
        self.operatorName = operatorName
        self.pid = pid
        self.approvals = approvals
        self.kind = kind
        self.parentRunId = parentRunId
        self.startedAt = startedAt
        self.lockLease = lockLease
        self.prior = nil
    }
}

/// The adapters a run talks to the world through; the CLI builds the concrete ones.
public struct RunServices: Sendable {
    public var connector: any Connector
    public var journal: any JournalStore
    public var renderer: any TemplateRendering
    public var observer: any RunObserver
    /// The run's time: every date it journals, every deadline and sleep (the system's in the CLI,
    /// a manual one in engine tests).
    public var clock: any Clock
    /// Local files steps read (a release's artifact, an upload's source).
    public var files: any LocalFiles
    /// HTTP-based gates (http, health, metric, benchmark, notify); nil where not wired.
    public var gates: (any GateRunner)?
    /// The redis gate's client; nil where not wired.
    public var redis: (any RedisClient)?
    /// Loads runbooks named by `include` steps.
    public var includes: (any IncludeResolver)?
    /// Fault-injection hook for the crash tests: called with a point's name (`main:started:ID@HOST`,
    /// `main:finished:…`, `undo:started:…`, `undo:finished:…`, `rollback:begin`); the CLI wires it
    /// to `MARSHAL_TEST_CRASH_AT`, which kills the process at that point. nil in normal runs.
    public var crashHook: (@Sendable (String) -> Void)?
    /// Where a run leaves its account when the journal fails; nil: nowhere.
    public var recovery: (any RecoveryStore)?

    public init(connector: any Connector, journal: any JournalStore, renderer: any TemplateRendering,
                observer: any RunObserver, clock: any Clock, files: any LocalFiles,
                gates: (any GateRunner)? = nil, includes: (any IncludeResolver)? = nil) {
        self.connector = connector
        self.journal = journal
        self.renderer = renderer
        self.observer = observer
        self.clock = clock
        self.files = files
        self.gates = gates
        self.includes = includes
    }
}

/// What the steps that talk HTTP from this machine use: an HTTP client and the load generator.
public protocol GateRunner: Sendable {
    var http: any HTTPClient { get }
    var load: any LoadGenerator { get }
}

public protocol IncludeResolver: Sendable {
    /// The runbook an include step names, decoded and checked; throws diagnostics otherwise.
    func runbook(for include: IncludeStep, from parent: Runbook) throws -> Runbook
}

/// Why a run could not start (exit 3) or was refused before anything changed.
public enum RunStartError: Error, Sendable, CustomStringConvertible {
    case lockHeld(LockRecord)
    case lockStale(LockRecord)
    case journal(String)
    /// While this resume or rollback waited for the lock, another run continued the same run: what
    /// it planned from the journal is out of date.
    case overtaken(run: String, by: RunRecord)

    public var description: String {
        switch self {
        case .lockHeld(let lock):
            "environment \(lock.environment) is locked by \(lock.holderDescription) since \(Self.format(lock.since)); wait for that run to finish, or see `marshal lock status -e \(lock.environment)`"
        case .lockStale(let lock):
            "environment \(lock.environment) holds a stale lock of \(lock.holderDescription) since \(Self.format(lock.since)); its holder stopped renewing it. If that run is really gone, take the lock over with `marshal lock release -e \(lock.environment)` (and `marshal resume \(lock.runId)` to finish it)"
        case .journal(let message): message
        case .overtaken(let run, let other):
            "while this command waited for the lock, \(other.kind.rawValue) run \(other.id) (now \(other.status.rawValue)) went on with run \(run); what this command read from the journal is out of date, so nothing was changed. See `marshal show \(other.id)`, then decide again"
        }
    }

    static func format(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: date)
    }
}
