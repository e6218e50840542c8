import ArgumentParser
import Foundation
import MarshalCore
import MarshalJournal

extension MarshalCommand {
    /// `marshal state copy --from DIR --to URL`: move a team's history into a shared store.
    struct State: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "state",
            abstract: "Manage where history and locks live.",
            subcommands: [Copy.self]
        )

        struct Copy: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Copy every run (steps, measurements) from one state to another; runs already there are left as they are.",
                discussion: "Typically `marshal state copy --from .marshal --to env:MARSHAL_STATE` when a team moves to a shared PostgreSQL state. Running it again copies only what is new. Locks are not copied."
            )

            @Option(help: "The state to read: a folder, a postgres:// URL without password, or env:VARIABLE.")
            var from: String

            @Option(help: "The state to write: a folder, a postgres:// URL without password, or env:VARIABLE.")
            var to: String

            func run() async throws {
                if !StateSource.isURL(from), !from.hasPrefix("env:"),
                   !FileManager.default.fileExists(atPath: URL(fileURLWithPath: from).appendingPathComponent(SQLiteJournal.fileName).path) {
                    Terminal.stderr("error: no run journal in \(from) (expected \(from)/\(SQLiteJournal.fileName))")
                    throw ExitCode.invalidInput
                }
                let source = try StateOptions(state: from).journal()
                let target = try StateOptions(state: to).journal()
                defer {
                    source.close()
                    target.close()
                }
                if source.location == target.location {
                    Terminal.stderr("error: --from and --to are the same state (\(source.location))")
                    throw ExitCode.invalidInput
                }
                var copied = 0, present = 0
                do {
                    // Oldest first, so the target lists them in the same order as the source.
                    for run in try await source.runs(matching: RunQuery()).reversed() {
                        let done = try await target.importRun(run, steps: try await source.steps(runId: run.id),
                                                              measurements: try await source.measurements(runId: run.id))
                        if done { copied += 1 } else { present += 1 }
                    }
                } catch {
                    Terminal.stderr("error: \(error) (\(copied) runs were copied before; run the command again to go on)")
                    throw ExitCode.couldNotStart
                }
                Terminal.stdout("copied \(copied) run\(copied == 1 ? "" : "s") from \(source.location) to \(target.location); \(present) already there")
            }
        }
    }
}

extension StateOptions {
    init(state: String) {
        self.init()
        self.state = state
    }
}
