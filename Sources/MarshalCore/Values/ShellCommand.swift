/// A shell command built from fragments, so quoting and masking are properties of the value:
/// `display` is safe to print or journal (secrets as `***`), `executable` is what the transport runs
/// and `standardInput` what it writes to the command's stdin.
///
/// Secrets never appear in `executable`: the transport passes that text as an argument (`sh -c`,
/// sshd's `$SHELL -c`), and every local user can read argument lists in /proc. Each secret is
/// read from stdin into a shell variable first and the command refers to the variable.
public struct ShellCommand: Sendable, Hashable, CustomStringConvertible {
    public enum Fragment: Sendable, Hashable {
        /// Text written by the runbook author; passed to the shell as is.
        case literal(String)
        /// A value (param, var, step output) that must reach the shell as one word.
        case quoted(String)
        /// A secret: one shell word in the command (`"$var"`, the variable read from stdin), masked
        /// for display. Builders put it where a program reads it from its environment
        /// (`PGPASSWORD=` + secret + ` psql …`): in a program's arguments it would be visible again.
        case secret(Secret)
        /// A value the author marked `| raw`: passed as is.
        case raw(String)
    }

    public var fragments: [Fragment]
    /// Written to the command's stdin after the secrets' lines; fragments so a secret in it masks
    /// in `display`. Builders use it for what a program reads on stdin (`curl -K -`, psql's script).
    public var input: [Fragment]

    public init(_ fragments: [Fragment], input: [Fragment] = []) {
        self.fragments = fragments
        self.input = input
    }
    public init(literal: String) { self.init([.literal(literal)]) }

    /// The distinct secrets of the command text, in first-use order; each gets one stdin line.
    private var commandSecrets: [Secret] {
        var seen: [Secret] = []
        for fragment in fragments {
            switch fragment {
            case .secret(let s): if !seen.contains(s) { seen.append(s) }
            default: break
            }
        }
        return seen
    }

    static func variable(_ index: Int) -> String { "__marshal_secret_\(index + 1)" }

    /// The string the transport passes to the shell: no secret's bytes in it. Never print or store
    /// it anyway (values of params are in it).
    public var executable: String {
        let secrets = commandSecrets
        var prefix = ""
        for (index, secret) in secrets.enumerated() {
            let name = Self.variable(index)
            prefix += "IFS= read -r \(name);"
            // `read` stops at a newline: such values travel %b-escaped and are decoded by printf
            // (a builtin, so no argument list); the trailing x keeps trailing newlines.
            if secret.reveal().contains("\n") {
                prefix += " \(name)=$(printf '%bx' \"$\(name)\"); \(name)=${\(name)%x};"
            }
            prefix += " "
        }
        let body = fragments.map { fragment in
            switch fragment {
            case .literal(let text), .raw(let text): text
            case .quoted(let value): ShellQuote.quote(value)
            case .secret(let secret):
                "\"$\(Self.variable(secrets.firstIndex(of: secret) ?? 0))\""
            }
        }.joined()
        return prefix + body
    }

    /// What the transport writes to the command's stdin, then closes: one line per secret of the
    /// command (in `executable`'s order), then `input`.
    public var standardInput: [UInt8] {
        var bytes: [UInt8] = []
        for secret in commandSecrets {
            let value = secret.reveal()
            let line = value.contains("\n")
                ? value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
                : value
            bytes += Array(line.utf8) + [0x0A]
        }
        for fragment in input {
            switch fragment {
            case .literal(let t), .raw(let t), .quoted(let t): bytes += Array(t.utf8)
            case .secret(let s): bytes += Array(s.reveal().utf8)
            }
        }
        return bytes
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
        (fragments + input).compactMap { if case .secret(let s) = $0 { s } else { nil } }
    }

    public var description: String { display }

    public static func + (lhs: ShellCommand, rhs: ShellCommand) -> ShellCommand {
        ShellCommand(lhs.fragments + rhs.fragments, input: lhs.input + rhs.input)
    }
}
