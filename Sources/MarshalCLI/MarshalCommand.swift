import ArgumentParser

/// The `marshal` root command: lists the subcommands; each lives in Commands/.
public struct MarshalCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "marshal",
        abstract: "Run deployment runbooks over SSH, gate them on measured evidence, and report what happened.",
        version: "0.1.0",
        subcommands: [
            Validate.self,
            Plan.self,
        ]
    )

    public init() {}
}
