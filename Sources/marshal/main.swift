import MarshalCLI

await MarshalCommand.main()
