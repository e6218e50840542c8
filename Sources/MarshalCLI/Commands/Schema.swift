import ArgumentParser
import Foundation

extension MarshalCommand {
    /// `marshal schema runbook|environment [-o FILE]`: the JSON Schema editors use (YAML language server).
    struct Schema: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the JSON Schema of runbook or environment files, for editors.",
            discussion: "Generated from the same declarations `validate` reads. The shipped copies are schemas/*.schema.json; point a file at one with a first line such as\n# yaml-language-server: $schema=../schemas/runbook.schema.json"
        )

        @Argument(help: "runbook or environment.")
        var document: String

        @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
        var output: String?

        func validate() throws {
            guard JSONSchema.Document(rawValue: document) != nil else {
                throw ValidationError("expected runbook or environment, got '\(document)'")
            }
        }

        func run() async throws {
            let text = JSONSchema.generate(JSONSchema.Document(rawValue: document)!)
            guard let output else { return FileHandle.standardOutput.write(Data(text.utf8)) }
            do {
                try text.write(toFile: output, atomically: true, encoding: .utf8)
            } catch {
                Terminal.stderr("error: cannot write \(output): \(error.localizedDescription)")
                throw ExitCode.invalidInput
            }
        }
    }
}
