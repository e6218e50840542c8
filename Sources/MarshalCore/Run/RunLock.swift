import Foundation

extension Orchestrator {
    /// Takes the environment lock (waiting up to `request.lockWait` while another live run holds it)
    /// and starts keeping it: the returned keeper renews it and proves it at every step boundary.
    func holdLock(_ request: RunRequest) async throws(RunStartError) -> LeaseKeeper {
        let clock = services.clock
        let deadline = clock.now + request.lockWait
        var announced: String?
        while true {
            let sent = clock.now
            do {
                _ = try await acquireLock(request)
                let observer = services.observer
                let keeper = LeaseKeeper(journal: services.journal, environment: request.environment.name, runId: request.runId,
                                         lease: request.lockLease, acquiredAt: sent, clock: clock, say: { observer.handle(.message($0)) })
                await keeper.start()
                return keeper
            } catch {
                guard case .lockHeld(let lock) = error, clock.now < deadline, !Task.isCancelled else { throw error }
                // Like Kamal's --lock-wait: say who holds it (once per holder), then poll.
                if announced != lock.runId {
                    services.observer.handle(.message("waiting for the lock of environment \(lock.environment): held by \(lock.holderDescription) since \(RunStartError.format(lock.since))"))
                    announced = lock.runId
                }
                try? await clock.sleep(for: min(.milliseconds(500), deadline - clock.now))
            }
        }
    }

    func acquireLock(_ request: RunRequest) async throws(RunStartError) -> LockRecord {
        do {
            switch try await services.journal.acquireLock(environment: request.environment.name, holder: request.operatorName,
                                                          pid: request.pid, runId: request.runId, lease: request.lockLease,
                                                          message: request.lockMessage) {
            case .acquired(let lock): return lock
            case .heldBy(let lock): throw RunStartError.lockHeld(lock)
            case .stale(let lock):
                // A resume may take over the lock its own dead parent run left behind.
                if let parent = request.parentRunId, lock.runId == parent {
                    let taken = try await services.journal.takeOverStaleLock(
                        environment: request.environment.name, stale: lock, holder: request.operatorName, pid: request.pid,
                        runId: request.runId, lease: request.lockLease, message: request.lockMessage)
                    if case .acquired(let record) = taken { return record }
                    throw RunStartError.lockHeld(taken.lock)
                }
                throw RunStartError.lockStale(lock)
            }
        } catch let error as RunStartError {
            throw error
        } catch {
            throw .journal("cannot take the lock of environment \(request.environment.name) in \(services.journal.location): \(error)")
        }
    }

    /// A resume or rollback planned from the journal before it held the lock: if another run went
    /// on with the same story meanwhile (two operators, one waiting with --lock-wait), that plan
    /// would do again what the other did, or miss what it changed.
    func checkNotOvertaken(_ request: RunRequest) async throws(RunStartError) {
        guard let asRead = request.journalAsRead else { return }
        let runs: [RunRecord]
        do {
            runs = try await services.journal.runs(matching: RunQuery(environment: request.environment.name))
        } catch {
            throw .journal("cannot read the journal (\(services.journal.location)) to check that nobody went on meanwhile: \(error)")
        }
        let moved = runs.first { run in
            guard run.id != request.runId else { return false }
            if let status = asRead[run.id] { return status != run.status }
            return run.parentRunId.map { asRead[$0] != nil } ?? false
        }
        if let moved { throw .overtaken(run: request.parentRunId ?? moved.id, by: moved) }
    }
}
