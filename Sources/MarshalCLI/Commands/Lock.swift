import ArgumentParser
import Foundation
import MarshalCore
import MarshalJournal

extension MarshalCommand {
    /// `marshal lock status|release -e ENV`.
    struct Lock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or release an environment's rollout lock.",
            subcommands: [Status.self, Release.self]
        )

        struct Status: AsyncParsableCommand, NamesEnvironment, AnswersInFormat {
            static let configuration = CommandConfiguration(abstract: "Who holds the lock, since when, and whether it is stale.")
            @OptionGroup var environmentOption: EnvironmentOption
            @OptionGroup var outputOptions: OutputOptions
            @OptionGroup var stateOptions: StateOptions

            func run() async throws {
                let journal = try stateOptions.journal(environmentNamed: environment)
                defer { journal.close() }
                let name = EnvironmentName.of(environment)
                let lock = try await journal.lockStatus(environment: name)
                let now = try await journal.currentTime()
                let stale = lock.map { $0.isStale(now: now, liveness: Operator.liveness) } ?? false
                switch output {
                case .json:
                    struct Doc: Encodable { var environment: String; var lock: LockRecord?; var stale: Bool }
                    Terminal.stdout(try JSONOutput.encode(Doc(environment: name, lock: lock, stale: stale)))
                case .text:
                    guard let lock else { Terminal.stdout("\(name): not locked"); return }
                    let f = ISO8601DateFormatter()
                    Terminal.stdout("\(name): locked by \(lock.holderDescription) since \(f.string(from: lock.since)); lease until \(f.string(from: lock.leaseExpiresAt))\(stale ? " — STALE: its holder stopped renewing it; `marshal lock release -e \(name)` takes it over" : "")")
                }
            }
        }

        struct Release: AsyncParsableCommand, NamesEnvironment {
            static let configuration = CommandConfiguration(abstract: "Release a stale lock (a live holder's lock needs --force).")
            @OptionGroup var environmentOption: EnvironmentOption
            @Flag(help: "Release even a lock whose holder still renews it.") var force = false
            @OptionGroup var stateOptions: StateOptions

            func run() async throws {
                let journal = try stateOptions.journal(environmentNamed: environment)
                defer { journal.close() }
                let name = EnvironmentName.of(environment)
                guard let lock = try await journal.lockStatus(environment: name) else {
                    Terminal.stdout("\(name): not locked")
                    return
                }
                if !lock.isStale(now: try await journal.currentTime(), liveness: Operator.liveness) && !force {
                    Terminal.stderr("error: \(name) is locked by \(lock.holderDescription), which is still renewing it; wait for it, or pass --force if you are sure it is gone")
                    throw ExitCode.couldNotStart
                }
                _ = try await journal.forceReleaseLock(environment: name)
                Terminal.stdout("\(name): released the lock of \(lock.holder) (run \(lock.runId)); `marshal resume \(lock.runId)` can finish that run")
            }
        }
    }
}
