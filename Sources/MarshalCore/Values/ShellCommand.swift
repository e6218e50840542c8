/// A shell command built from fragments, so quoting and masking are properties of the value:
/// `display` is safe to print or journal (secrets as `***`), `executable` is what the transport runs.
public struct ShellCommand: Sendable, Hashable, CustomStringConvertible {
    public enum Fragment: Sendable, Hashable {
        /// Text written by the runbook author; passed to the shell as is.
        case literal(String)
        /// A value (param, var, step output) that must reach the shell as one word.
        case quoted(String)
        /// A secret: quoted for execution, masked for display.
        case secret(Secret)
        /// A value the author marked `| raw`: passed as is.
        case raw(String)
    }

    public var fragments: [Fragment]

    public init(_ fragments: [Fragment]) { self.fragments = fragments }
    public init(literal: String) { self.fragments = [.literal(literal)] }

    /// The string the remote shell receives. Never print or store this.
    public var executable: String {
        fragments.map { fragment in
            switch fragment {
            case .literal(let text), .raw(let text): text
            case .quoted(let value): ShellQuote.quote(value)
            case .secret(let secret): ShellQuote.quote(secret.reveal())
            }
        }.joined()
    }

    /// The string for output, journal and reports: secrets masked.
    public var display: String {
        fragments.map { fragment in
            switch fragment {
            case .literal(let text), .raw(let text): text
            case .quoted(let value): ShellQuote.quote(value)
            case .secret: Secret.mask
            }
        }.joined()
    }

    public var secrets: [Secret] {
        fragments.compactMap { if case .secret(let s) = $0 { s } else { nil } }
    }

    public var description: String { display }

    public static func + (lhs: ShellCommand, rhs: ShellCommand) -> ShellCommand {
        ShellCommand(lhs.fragments + rhs.fragments)
    }
}
