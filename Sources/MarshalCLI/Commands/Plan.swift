import ArgumentParser

extension MarshalCommand {
    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "(being built)")
        func run() async throws {}
    }
}
