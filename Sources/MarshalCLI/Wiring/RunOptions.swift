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

    /// The store for `environment` (its `state:`), or the default when there is none.
    func journal(for environment: Environment? = nil) throws -> any JournalStore {
        do {
            let location = try StateLocation.resolve(option: state, environment: environment?.state,
                                                     processEnvironment: ProcessInfo.processInfo.environment)
            return try location.open()
        } catch let error as JournalError {
            Terminal.stderr("error: \(error)")
            if case .invalidLocation = error { throw ExitCode.invalidInput }
            throw ExitCode.couldNotStart
        }
    }

    /// For commands that take `-e ENV` only to find a run or a lock: the environment's `state:` when
    /// its file exists (an invalid file is an error), else the default store.
    func journal(environmentNamed nameOrPath: String?) throws -> any JournalStore {
        guard let nameOrPath else { return try journal() }
        let loader = Loader()
        let path = loader.environmentPath(nameOrPath)
        guard FileManager.default.fileExists(atPath: path) else { return try journal() }
        return try journal(for: try Inputs().environment(nameOrPath))
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
