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
        var document: JSONSchema.Document

        @OptionGroup var destination: OutputFile

        func run() async throws {
            try destination.write(JSONSchema.generate(document))
        }
    }
}

extension JSONSchema.Document: ExpressibleByArgument {}
