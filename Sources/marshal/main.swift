import MarshalCLI

await MarshalCommand.runMain()
