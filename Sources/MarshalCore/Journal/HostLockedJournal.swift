import Foundation

/// The embedded journal with the environment lock also held on a lock host, so that two operators
/// with two local journals (two laptops, two folders) still exclude each other, as Kamal's lock does.
///
/// Everything but the lock goes to the wrapped store. The lock is taken in the store first, then on
/// the host (`mkdir`, atomic); a host lock of another live run gives the store lock back and reports
/// that run. Renewals renew both; a boundary proves the store's lock in its own transaction while the
/// heartbeat keeps the host's lease (a host that cannot be reached is an outage, waited out within
/// the lease; a host lock taken by another run is a lost lock).
public final class HostLockedJournal: JournalStore {
    public let inner: any JournalStore
    private let host: HostLink
    private let liveness: ProcessLiveness
    private let clock: any Clock
    public var location: String { inner.location }

    public init(inner: any JournalStore, connector: any Connector, endpoint: HostEndpoint, liveness: ProcessLiveness, clock: any Clock) {
        self.clock = clock
        self.inner = inner
        self.host = HostLink(connector: connector, endpoint: endpoint)
        self.liveness = liveness
    }

    /// One connection to the lock host, opened on first use and reopened after a failure.
    actor HostLink {
        let connector: any Connector
        let endpoint: HostEndpoint
        private var executor: (any RemoteExecutor)?

        init(connector: any Connector, endpoint: HostEndpoint) {
            self.connector = connector
            self.endpoint = endpoint
        }

        nonisolated var name: String { "lock host \(endpoint.name)" }

        // Kept unoptimised: Swift 6.x's optimiser crashed (CopyPropagation, "Found ownership error")
        // on this async actor method in release builds.
        @_optimize(none)
        func run(_ command: ShellCommand, _ operation: String) async throws -> HostLockCommands.Answer {
            let outcome = await execute(command)
            if case .failure = outcome { await close() }
            return try Self.answer(outcome, host: name, operation: operation)
        }

        private static func answer(_ outcome: Result<CommandResult, TransportError>, host: String, operation: String) throws -> HostLockCommands.Answer {
            let result: CommandResult
            switch outcome {
            case .success(let done): result = done
            case .failure(let error): throw JournalError.unreachable(journal: host, operation: operation, reason: "\(error)")
            }
            if result.succeeded, let answer = HostLockCommands.parse(result.stdoutText) { return answer }
            let last = result.stderrText.split(separator: "\n").last.map { String($0) }
            let status = result.exitStatus.map { "exit \($0)" } ?? "no exit status"
            throw JournalError.storageFailed(journal: host, operation: operation, reason: "the lock command failed: \(last ?? status)")
        }

        // A Result rather than typed throws across the actor hop: the 6.x optimiser crashed on the latter.
        private func execute(_ command: ShellCommand) async -> Result<CommandResult, TransportError> {
            let executor: any RemoteExecutor
            if let open = self.executor {
                executor = open
            } else {
                switch await Self.connect(connector, endpoint) {
                case .success(let connected): executor = connected
                case .failure(let error): return .failure(error)
                }
                self.executor = executor
            }
            return await Self.run(command, on: executor)
        }

        private static func connect(_ connector: any Connector, _ endpoint: HostEndpoint) async -> Result<any RemoteExecutor, TransportError> {
            do throws(TransportError) { return .success(try await connector.connect(endpoint)) } catch { return .failure(error) }
        }

        private static func run(_ command: ShellCommand, on executor: any RemoteExecutor) async -> Result<CommandResult, TransportError> {
            do throws(TransportError) { return .success(try await executor.run(command, timeout: .seconds(20))) } catch { return .failure(error) }
        }

        func close() async {
            if let executor { await executor.close() }
            executor = nil
        }
    }

    private func seconds(_ lease: Duration) -> Int { max(1, Int(lease.components.seconds)) }

    private func judged(_ holder: HostLockCommands.Holder, _ environment: String) -> LockAcquisition {
        let record = holder.record(environment: environment, localNow: clock.date)
        let stale = holder.leaseUntil <= holder.hostNow
            || liveness.isAlive(pid: holder.pid, on: OperatorName.machine(of: holder.holder)) == false
        return stale ? .stale(record) : .heldBy(record)
    }

    // MARK: Environment lock

    public func acquireLock(environment: String, holder: String, pid: Int32, runId: String, lease: Duration,
                            message: String?) async throws -> LockAcquisition {
        let local = try await inner.acquireLock(environment: environment, holder: holder, pid: pid, runId: runId, lease: lease,
                                                message: message)
        guard case .acquired(let record) = local else { return local }
        let answer: HostLockCommands.Answer
        do {
            answer = try await host.run(HostLockCommands.acquire(environment: environment, holder: holder, pid: pid, runId: runId,
                                                                 leaseSeconds: seconds(lease), message: message), "take the lock of environment \(environment)")
        } catch {
            _ = try? await inner.releaseLock(environment: environment, runId: runId)
            await host.close()
            throw error
        }
        switch answer {
        case .acquired:
            return .acquired(record)
        case .held(let other?) where other.runId == runId:
            _ = try await renewOnHost(environment: environment, runId: runId, lease: lease)
            return .acquired(record)
        case .held(let other?):
            // Not ours: the connection is closed now, while we wait for it, rather than torn down
            // in the background as the refused command exits.
            _ = try? await inner.releaseLock(environment: environment, runId: runId)
            await host.close()
            return judged(other, environment)
        default:
            _ = try? await inner.releaseLock(environment: environment, runId: runId)
            await host.close()
            return .heldBy(LockRecord(environment: environment, holder: "another marshal (taking the lock on \(host.endpoint.name) right now)",
                                      pid: 0, runId: "?", since: clock.date, leaseExpiresAt: clock.date.addingTimeInterval(TimeInterval(seconds(lease)))))
        }
    }

    public func takeOverStaleLock(environment: String, stale: LockRecord, holder: String, pid: Int32, runId: String,
                                  lease: Duration, message: String?) async throws -> LockAcquisition {
        if case .held(let current?) = try await host.run(HostLockCommands.inspect(environment: environment), "read the lock of environment \(environment)") {
            guard current.runId == stale.runId, case .stale = judged(current, environment) else { return judged(current, environment) }
            _ = try await host.run(HostLockCommands.release(environment: environment, runId: stale.runId), "take over the lock of environment \(environment)")
        }
        let local = try await inner.takeOverStaleLock(environment: environment, stale: stale, holder: holder, pid: pid, runId: runId,
                                                      lease: lease, message: message)
        guard case .acquired = local else { return local }
        return try await acquireLock(environment: environment, holder: holder, pid: pid, runId: runId, lease: lease, message: message)
    }

    @discardableResult
    public func renewLock(environment: String, runId: String, lease: Duration) async throws -> LockRecord {
        let record = try await inner.renewLock(environment: environment, runId: runId, lease: lease)
        try await renewOnHost(environment: environment, runId: runId, lease: lease)
        return record
    }

    private func renewOnHost(environment: String, runId: String, lease: Duration) async throws {
        let answer = try await host.run(HostLockCommands.renew(environment: environment, runId: runId, leaseSeconds: seconds(lease)),
                                        "renew the lock of environment \(environment)")
        if case .lost(let other) = answer {
            throw JournalError.lockNotHeld(environment: environment, runId: runId, current: other?.record(environment: environment, localNow: clock.date),
                                           journal: "\(inner.location) and \(host.name)")
        }
    }

    @discardableResult
    public func releaseLock(environment: String, runId: String) async throws -> Bool {
        _ = try? await host.run(HostLockCommands.release(environment: environment, runId: runId), "release the lock of environment \(environment)")
        await host.close()
        return try await inner.releaseLock(environment: environment, runId: runId)
    }

    @discardableResult
    public func forceReleaseLock(environment: String) async throws -> LockRecord? {
        let local = try await inner.forceReleaseLock(environment: environment)
        var remote: LockRecord?
        if case .held(let holder?) = try await host.run(HostLockCommands.inspect(environment: environment), "read the lock of environment \(environment)") {
            remote = holder.record(environment: environment, localNow: clock.date)
        }
        _ = try await host.run(HostLockCommands.release(environment: environment, runId: nil), "release the lock of environment \(environment)")
        return local ?? remote
    }

    public func lockStatus(environment: String) async throws -> LockRecord? {
        if let local = try await inner.lockStatus(environment: environment) { return local }
        if case .held(let holder?) = try await host.run(HostLockCommands.inspect(environment: environment), "read the lock of environment \(environment)") {
            return holder.record(environment: environment, localNow: clock.date)
        }
        return nil
    }

    public func currentTime() async throws -> Date { try await inner.currentTime() }

    // MARK: Everything else is the store's

    public func createRun(_ run: RunRecord) async throws { try await inner.createRun(run) }
    public func updateRun(id: String, _ update: RunUpdate) async throws { try await inner.updateRun(id: id, update) }
    public func runs(matching query: RunQuery) async throws -> [RunRecord] { try await inner.runs(matching: query) }
    public func run(id reference: String, environment: String?) async throws -> RunRecord { try await inner.run(id: reference, environment: environment) }
    @discardableResult
    public func reconcileInterrupted() async throws -> [String] { try await inner.reconcileInterrupted() }
    public func appendStep(_ step: StepRecord) async throws -> Int { try await inner.appendStep(step) }
    public func finishStep(runId: String, sequence: Int, _ completion: StepCompletion) async throws {
        try await inner.finishStep(runId: runId, sequence: sequence, completion)
    }
    public func steps(runId: String) async throws -> [StepRecord] { try await inner.steps(runId: runId) }
    public func appendSteps(_ steps: [StepRecord]) async throws -> [Int] { try await inner.appendSteps(steps) }
    public func finishSteps(_ items: [StepFinish]) async throws { try await inner.finishSteps(items) }
    public func commitBoundary(finishes: [StepFinish], starts: [StepRecord]) async throws -> [Int] {
        try await inner.commitBoundary(finishes: finishes, starts: starts)
    }
    public func commitBoundary(finishes: [StepFinish], starts: [StepRecord], renewing claim: LockClaim?) async throws -> [Int] {
        try await inner.commitBoundary(finishes: finishes, starts: starts, renewing: claim)
    }
    @discardableResult
    public func recordMeasurement(_ measurement: MeasurementRecord) async throws -> Int { try await inner.recordMeasurement(measurement) }
    public func measurements(runId: String) async throws -> [MeasurementRecord] { try await inner.measurements(runId: runId) }
    public func importRun(_ run: RunRecord, steps: [StepRecord], measurements: [MeasurementRecord]) async throws -> Bool {
        try await inner.importRun(run, steps: steps, measurements: measurements)
    }
}

