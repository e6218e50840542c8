import ArgumentParser

extension MarshalCommand {
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "(being built)")
        func run() async throws {}
    }
}
