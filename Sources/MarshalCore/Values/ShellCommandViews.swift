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

extension RenderedText {
    /// The text as one shell word: a secret stays a secret fragment, anything else is quoted.
    public var quotedFragments: [Fragment] {
        if fragments.count == 1, case .secret = fragments[0] { return fragments }
        if containsSecret {
            // Mixed text with a secret inside: quoted words and secret variables, which the shell
            // joins into one argument.
            return fragments.map { fragment in
                switch fragment {
                case .literal(let t), .raw(let t), .quoted(let t): .quoted(t)
                case .secret: fragment
                }
            }
        }
        return [.quoted(plainValue)]
    }
}
