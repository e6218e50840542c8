/// Text from hosts and servers made safe to print: control characters are shown escaped (`\x1b`,
/// `\x00`, `\u{202e}`) instead of reaching a terminal, a log viewer or a document raw, where they
/// could clear the screen, retitle the window, forge links (OSC 8), hide text or, for NUL, cut
/// what is stored. Newline and tab are kept; a CR is kept only before LF (a line end). This is the
/// one escaping function for terminal, `show`, JSON and journal text; the Markdown report builds
/// its own escaping on top of it.
public enum ControlCharacters {
    public static func escape(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard scalars.contains(where: needsEscape) else { return text }
        var out = String.UnicodeScalarView()
        var index = scalars.startIndex
        while index != scalars.endIndex {
            let scalar = scalars[index]
            let next = scalars.index(after: index)
            if scalar == "\r", next != scalars.endIndex, scalars[next] == "\n" {
                out.append(scalar)
            } else if needsEscape(scalar) {
                out.append(contentsOf: escaped(scalar).unicodeScalars)
            } else {
                out.append(scalar)
            }
            index = next
        }
        return String(out)
    }

    /// C0 controls but tab and newline, DEL, C1 controls (0x9B is a one-byte CSI), and the
    /// bidirectional overrides and isolates that reorder what a reader sees (CVE-2021-42574).
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A: false
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    private static func escaped(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16)
        return scalar.value < 0x100 ? "\\x" + (hex.count == 1 ? "0" + hex : hex) : "\\u{\(hex)}"
    }
}
