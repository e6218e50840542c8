import ArgumentParser
import Foundation

extension MarshalCommand {
    /// `marshal docs --output docs/reference`: the reference pages, generated from the declarations.
    struct Docs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the reference pages (one per step kind, the runbook and environment files) as Markdown."
        )

        @Option(name: .shortAndLong, help: "The folder to write to.", completion: .directory)
        var output: String = "docs/reference"

        func run() async throws {
            do {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
                for (name, text) in ReferenceDocs.pages().sorted(by: { $0.key < $1.key }) {
                    try text.write(toFile: output + "/" + name, atomically: true, encoding: .utf8)
                }
            } catch {
                Terminal.stderr("error: cannot write to \(output): \(error.localizedDescription)")
                throw ExitCode.invalidInput
            }
            Terminal.stdout("\(ReferenceDocs.pages().count) pages written to \(output)")
        }
    }
}
