import Foundation
import MarshalCore

/// Questions on standard error (names from files escaped), answers from standard input.
struct TerminalPrompt: Prompt {
    var isInteractive: Bool { Terminal.stdinIsTTY }

    func ask(_ question: String) -> String? {
        FileHandle.standardError.write(Data(ControlCharacters.escape(question).utf8))
        return readLine()
    }
}
