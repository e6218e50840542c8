import ArgumentParser
import Foundation
import MarshalCore
import MarshalJournal
import MarshalLoading

/// `--state`, shared by the commands that read or write the journal and the lock.
struct StateOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Where history and locks live: a folder (SQLite), a postgres:// URL without its password, or env:VARIABLE (a variable holding the folder or URL).",
        discussion: "Default: the environment's `state:`, else $MARSHAL_STATE, else .marshal. A password is never accepted on the command line."))
    var state: String?

    /// The store for `environment` (its `state:`), or the default when there is none. `forRun`:
    /// the embedded journal is checked for damage first (a run never writes into a damaged file).
    func journal(for environment: Environment? = nil, forRun: Bool = false) throws -> any JournalStore {
        do {
            let location = try StateLocation.resolve(option: state, environment: environment?.state,
                                                     processEnvironment: ProcessInfo.processInfo.environment)
            let store = try location.open()
            if forRun, let embedded = store as? SQLiteJournal { try embedded.verifyIntegrity() }
            guard !location.isShared, let environment else { return store }
            return StateLocation.withHostLock(store, environment: environment)
        } catch let error as JournalError {
            Terminal.stderr("error: \(error)")
            if case .invalidLocation = error { throw ExitCode.invalidInput }
            throw ExitCode.couldNotStart
        }
    }

    /// For commands that take `-e ENV` only to find a run or a lock: the environment's `state:` when
    /// its file exists (an invalid file is an error), else the default store.
    func journal(environmentNamed nameOrPath: String?, forRun: Bool = false) throws -> any JournalStore {
        guard let nameOrPath else { return try journal(forRun: forRun) }
        let loader = Loader()
        let path = loader.environmentPath(nameOrPath)
        guard FileManager.default.fileExists(atPath: path) else { return try journal(forRun: forRun) }
        return try journal(for: try Inputs().environment(nameOrPath), forRun: forRun)
    }
}

/// Turns Ctrl-C into cancellation of the running task, so the run stops between steps, records
/// itself as aborted and releases the lock; a second Ctrl-C exits at once.
final class InterruptHandler: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private var count = 0

    func install(onInterrupt: @escaping @Sendable () -> Void) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.count += 1
                if self.count > 1 { Foundation.exit(130) }
                Terminal.stderr("interrupted: stopping after the current step (press Ctrl-C again to quit at once)")
                onInterrupt()
            }
            source.resume()
            sources.append(source)
        }
    }
}

/// `--lock-wait DURATION` and `-m MESSAGE`, for the commands that take the environment lock (run, resume, rollback).
struct LockWaitOptions: ParsableArguments {
    @Option(name: [.customShort("m"), .long], help: "Why you are taking the environment's lock (e.g. 'hotfix INC-42'); shown to anyone who finds it held, as Kamal's lock message.")
    var message: String?

    @Option(help: "Wait up to this long (30s, 5m) for the environment lock when another run holds it, printing who holds it; default: fail at once (exit 3).")
    var lockWait: String?

    @Option(help: ArgumentHelp("How long the lock lives without renewal (default 30s); the run renews it every third of that.", visibility: .hidden))
    var lockLease: String?

    func validate() throws {
        _ = try duration()
        _ = try lease()
        if let message, message.count > LockRecord.messageLimit {
            throw ValidationError("--message is \(message.count) characters; at most \(LockRecord.messageLimit) are kept (say why, link the rest)")
        }
    }

    /// The lease, at least 3 s so that renewals have time to land.
    func lease() throws -> Duration? {
        guard let lockLease else { return nil }
        guard let value = DurationText.parse(lockLease), value >= .seconds(3) else {
            throw ValidationError("--lock-lease expects a duration of at least 3s, got '\(lockLease)'")
        }
        return value
    }

    func apply(to request: inout RunRequest) throws {
        request.lockWait = try duration()
        request.lockMessage = LockRecord.normalizedMessage(message)
        if let lease = try lease() { request.lockLease = lease }
    }

    func duration() throws -> Duration {
        guard let lockWait else { return .zero }
        guard let value = DurationText.parse(lockWait), value >= .zero else {
            throw ValidationError("--lock-wait expects a duration such as 30s or 5m, got '\(lockWait)'")
        }
        return value
    }
}
