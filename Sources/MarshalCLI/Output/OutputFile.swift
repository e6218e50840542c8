import ArgumentParser
import Foundation

/// `-o FILE` of the commands that print one document (schema, report): standard output unless a
/// file is named.
struct OutputFile: ParsableArguments {
    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.", completion: .file())
    var output: String?

    func validate() throws {
        try WritableFolder.check("--output", output, then: "nothing was written")
    }

    /// Writes `text` where asked; a file that cannot be written is bad input (exit 2).
    func write(_ text: String) throws {
        guard let output else { return FileHandle.standardOutput.write(Data(text.utf8)) }
        do {
            try text.write(toFile: output, atomically: true, encoding: .utf8)
        } catch {
            Terminal.stderr("error: cannot write \(output): \(error.localizedDescription)")
            throw ExitCode.invalidInput
        }
    }
}
