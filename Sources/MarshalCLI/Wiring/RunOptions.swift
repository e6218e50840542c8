import ArgumentParser
import Foundation
import MarshalCore
import MarshalJournal

/// `--state DIR` and `--output`, shared by the commands that read or write the journal.
struct StateOptions: ParsableArguments {
    @Option(help: "Journal folder (default: the environment's `state:`, else .marshal).")
    var state: String?

    func journal(for environment: Environment? = nil) throws -> SQLiteJournal {
        let directory = state ?? environment?.state ?? ".marshal"
        do {
            return try SQLiteJournal(directory: directory)
        } catch {
            Terminal.stderr("error: \(error)")
            throw ExitCode.couldNotStart
        }
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
