import Foundation

/// Keeps a run's environment lock: renews it in the background every third of the lease and, at
/// every step boundary, proves the lease is still held before the next step may start.
///
/// A renewal that fails is never ignored:
/// - the store says another run holds the lock (taken over, released by hand): the lock is lost;
///   no further step starts;
/// - the store cannot be reached or is busy: the run waits at the next boundary, retrying, for as
///   long as its last proven lease lasts (saying so), goes on if a renewal succeeds in time, and
///   stops otherwise.
/// The lease is counted on this machine's monotonic clock from the moment the last successful
/// renewal was *sent*, which is never later than the store's own start of that lease, so this side
/// gives up before the store could call the lock stale.
public actor LeaseKeeper {
    /// Why the run may not start another step.
    public struct Lost: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    private let journal: any JournalStore
    private let environment: String
    private let runId: String
    private let lease: Duration
    private let say: @Sendable (String) -> Void
    private let clock: any Clock
    private var provenUntil: ContinuousClock.Instant
    private var lost: String?
    private var lastFailure: String?
    private var heartbeat: Task<Void, Never>?

    /// - Parameters:
    ///   - acquiredAt: when the request that took the lock was sent.
    ///   - say: tells the operator what is happening while the run waits.
    public init(journal: any JournalStore, environment: String, runId: String, lease: Duration,
                acquiredAt: ContinuousClock.Instant, clock: any Clock, say: @escaping @Sendable (String) -> Void) {
        self.clock = clock
        self.journal = journal
        self.environment = environment
        self.runId = runId
        self.lease = lease
        self.say = say
        self.provenUntil = acquiredAt + lease
    }

    /// Starts renewing in the background until `stop()`.
    public func start() {
        guard heartbeat == nil else { return }
        let interval = lease / 3
        heartbeat = Task { [weak self, clock] in
            while !Task.isCancelled {
                try? await clock.sleepBeside(for: interval)
                if Task.isCancelled { break }
                guard let self else { break }
                // After a failure, try again sooner: a short outage must not eat the lease.
                if await self.renew() == false, await self.isLost == false {
                    try? await clock.sleepBeside(for: min(interval, .seconds(1)))
                    _ = await self.renew()
                }
            }
        }
    }

    public func stop() {
        heartbeat?.cancel()
        heartbeat = nil
    }

    var isLost: Bool { lost != nil }

    /// What a boundary proves and extends in its own transaction.
    public var claim: LockClaim { LockClaim(environment: environment, runId: runId, lease: lease) }

    /// A boundary sent at `sent` committed with the claim: the lease is proven from then.
    func boundaryCommitted(sentAt sent: ContinuousClock.Instant) {
        provenUntil = max(provenUntil, sent + lease)
        lastFailure = nil
    }

    /// A boundary could not be written (store unreachable or busy): prove the lease again before retrying.
    func noteFailure(_ reason: String) {
        lastFailure = reason
    }

    /// A boundary found the lock held by another run (or released): nothing more may start.
    func boundaryRefused(_ error: JournalError) -> Lost {
        let reason = "the run lost the lock of environment \(environment): \(error)"
        lost = reason
        return Lost(reason: reason)
    }

    /// One renewal; records what it proved. Returns whether it succeeded.
    @discardableResult
    func renew() async -> Bool {
        guard lost == nil else { return false }
        let sent = clock.now
        do {
            try await journal.renewLock(environment: environment, runId: runId, lease: lease)
            provenUntil = max(provenUntil, sent + lease)
            lastFailure = nil
            return true
        } catch let error as JournalError {
            if case .lockNotHeld = error {
                lost = "the run lost the lock of environment \(environment): \(error)"
            } else {
                lastFailure = "\(error)"
            }
            return false
        } catch {
            lastFailure = "\(error)"
            return false
        }
    }

    /// Returns when the lease is proven (renewing first when the last renewal failed or the lease
    /// is nearly spent); throws `Lost` when it cannot be, and then nothing more may start.
    public func prove() async throws(Lost) {
        if let lost { throw Lost(reason: lost) }
        let margin = min(lease / 10, .seconds(2))
        if lastFailure == nil, clock.now + margin < provenUntil { return }
        var announced = false
        while true {
            if await renew() { return }
            if let lost { throw Lost(reason: lost) }
            let left = provenUntil - clock.now
            if left <= margin {
                let reason = "the lock of environment \(environment) could not be renewed before its lease ran out (\(lastFailure ?? "no answer")); stopped before starting another step so that no other run can overlap this one"
                lost = reason
                throw Lost(reason: reason)
            }
            if !announced {
                say("the state store does not answer (\(lastFailure ?? "no answer")); waiting before the next step, \(Self.seconds(left)) s left on the lock's lease")
                announced = true
            }
            try? await clock.sleep(for: min(.milliseconds(500), left - margin))
        }
    }

    private static func seconds(_ d: Duration) -> String {
        String(format: "%.1f", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }
}
