import Foundation

/// The environment lock: one rollout per environment at a time.
public struct LockRecord: Sendable, Hashable, Codable {
    public var environment: String
    /// Who holds it, as `user@machine`.
    public var holder: String
    public var pid: Int32
    public var runId: String
    public var since: Date
    /// The holder extends this while it works (`renewLock`); past it, the lock is stale.
    public var leaseExpiresAt: Date
    /// Why the holder took it, in the operator's words (`marshal run -m`, Kamal's lock message):
    /// shown to whoever finds the environment locked.
    public var message: String?

    public init(environment: String, holder: String, pid: Int32, runId: String, since: Date, leaseExpiresAt: Date,
                message: String? = nil) {
        self.environment = environment
        self.holder = holder
        self.pid = pid
        self.runId = runId
        self.since = since
        self.leaseExpiresAt = leaseExpiresAt
        self.message = message
    }

    /// `holder (pid N, run ID)`, or `holder (pid N, run ID: "message")`; control characters escaped.
    public var holderDescription: String {
        let said = message.map { $0.isEmpty ? "" : ": \"\($0)\"" } ?? ""
        return ControlCharacters.escape("\(holder) (pid \(pid), run \(runId)\(said))")
    }

    /// An operator's message as stored: one line (line breaks and other control characters become
    /// spaces, since the host lock keeps it in a line-per-field file), trimmed, nil when empty.
    public static func normalizedMessage(_ text: String?) -> String? {
        guard let text else { return nil }
        let line = String(String.UnicodeScalarView(text.unicodeScalars.map {
            CharacterSet.controlCharacters.contains($0) ? " " : $0
        })).trimmingCharacters(in: .whitespaces)
        return line.isEmpty ? nil : line
    }

    /// The longest message a lock keeps, in characters: a reason, not a document.
    public static let messageLimit = 500

    /// True once the lease has run out: the holder stopped renewing, so it is most likely dead.
    public func isStale(now: Date) -> Bool { now >= leaseExpiresAt }

    /// Stale by lease, or held by a process of this machine that no longer exists.
    public func isStale(now: Date, liveness: ProcessLiveness) -> Bool {
        isStale(now: now) || liveness.isAlive(pid: pid, on: OperatorName.machine(of: holder)) == false
    }
}

/// A run's claim on its environment's lock, proven and extended in the same transaction as a step
/// boundary (`commitBoundary(finishes:starts:renewing:)`).
public struct LockClaim: Sendable, Hashable {
    public var environment: String
    public var runId: String
    public var lease: Duration

    public init(environment: String, runId: String, lease: Duration) {
        self.environment = environment
        self.runId = runId
        self.lease = lease
    }
}

/// What `acquireLock` found.
public enum LockAcquisition: Sendable, Hashable {
    /// The caller now holds the lock (or already held it for this run; the lease was extended).
    case acquired(LockRecord)
    /// Someone else holds it and is alive.
    case heldBy(LockRecord)
    /// Someone else holds it but stopped renewing or died; not taken over automatically.
    /// Use `takeOverStaleLock` (same stale holder only) or `forceReleaseLock` after checking.
    case stale(LockRecord)

    public var lock: LockRecord {
        switch self {
        case .acquired(let l), .heldBy(let l), .stale(let l): l
        }
    }

    public var isAcquired: Bool {
        if case .acquired = self { true } else { false }
    }
}

/// Tells whether a process recorded in the journal still runs. Only this machine's processes can be
/// checked; for another machine's the answer is "cannot tell" and leases decide.
public struct ProcessLiveness: Sendable {
    /// This machine's name, as it appears after the `@` in operator names.
    public let machine: String
    private let probe: @Sendable (Int32) -> Bool

    public init(machine: String, isAlive probe: @escaping @Sendable (Int32) -> Bool) {
        self.machine = machine
        self.probe = probe
    }

    /// Nil when the process ran on another machine; otherwise whether it is alive.
    public func isAlive(pid: Int32, on machine: String) -> Bool? {
        guard machine == self.machine else { return nil }
        return probe(pid)
    }

    /// Never claims to know: only leases decide. For stores read from a machine that ran nothing.
    public static let unknown = ProcessLiveness(machine: "", isAlive: { _ in true })
}
