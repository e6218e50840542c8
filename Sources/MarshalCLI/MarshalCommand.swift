import Foundation
import ArgumentParser
import MarshalSSH

/// The `marshal` root command: lists the subcommands; each lives in Commands/.
@available(macOS 10.15, *)
public struct MarshalCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "marshal",
        abstract: "Run deployment runbooks over SSH, gate them on measured evidence, and report what happened.",
        version: "\(BuildInfo.version) (commit \(BuildInfo.commit))",
        subcommands: [
            Validate.self,
            Plan.self,
            Run.self,
            Runs.self,
            Show.self,
            Lock.self,
            State.self,
            Check.self,
            Resume.self,
            Rollback.self,
            Bench.self,
            Report.self,
            Schema.self,
            Docs.self,
            Init.self,
        ]
    )

    public init() {}
}

extension MarshalCommand {
    /// Entry point for the executable: parse, run the (async) subcommand, exit with its code.
    /// Spelled out because top-level code would pick ParsableCommand's synchronous `main()`.
    public static func runMain() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            SSHConnector.finishClosing()
        } catch {
            SSHConnector.finishClosing()
            // Argument-parser reports usage errors as EX_USAGE (64); the contract says invalid
            // arguments exit 2, like any other invalid input.
            if exitCode(for: error).rawValue == 64 {
                let message = fullMessage(for: error)
                if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
                Foundation.exit(ExitCode.invalidInput.rawValue)
            }
            exit(withError: error)
        }
    }
}
