extension ShellCommand {
    /// The same text with values unquoted, for non-shell uses (URLs, paths). Never print this.
    public var plainValue: String {
        fragments.map { fragment in
            switch fragment {
            case .literal(let text), .raw(let text), .quoted(let text): text
            case .secret(let secret): secret.reveal()
            }
        }.joined()
    }

    /// Unquoted and masked: safe to print.
    public var plainDisplay: String {
        fragments.map { fragment in
            switch fragment {
            case .literal(let text), .raw(let text), .quoted(let text): text
            case .secret: Secret.mask
            }
        }.joined()
    }

    public var containsSecret: Bool { !secrets.isEmpty }
}

/// A rendered template value: text built from literal parts, values and secrets.
public typealias RenderedText = ShellCommand
