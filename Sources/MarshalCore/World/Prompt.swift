/// Asks the operator a question and reads the answer (the confirmation of a production run,
/// `marshal init`'s questions). The CLI wires the terminal; tests answer from a script.
public protocol Prompt: Sendable {
    /// Whether someone can answer: standard input is a terminal.
    var isInteractive: Bool { get }
    /// Shows `question` (without a newline) and returns the line typed, without its newline;
    /// nil at the end of input.
    func ask(_ question: String) -> String?
}
