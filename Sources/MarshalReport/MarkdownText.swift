import MarshalCore

/// Text from hosts, servers and the journal made inert inside a Markdown document: control
/// characters escaped first (`ControlCharacters`), then everything Markdown or HTML would act on.
/// The one escaping function for the report; the templates put its output in table cells and list
/// items, so a line break becomes a space (it would end the row or the item).
public enum MarkdownText {
    public static func escape(_ text: String) -> String {
        let safe = ControlCharacters.escape(text)
        let characters = Array(safe)
        var out = ""
        out.reserveCapacity(safe.utf8.count)
        for (i, c) in characters.enumerated() {
            let next = i + 1 < characters.count ? characters[i + 1] : nil
            switch c {
            // Emphasis, code, strikethrough, table cells, escapes: always inert.
            case "\\", "`", "*", "_", "~", "|":
                out += "\\" + String(c)
            // A link or image needs `](` or `][` (or `]:` for a definition); "status in [200]" stays as written.
            case "]" where next == "(" || next == "[" || next == ":":
                out += "\\]"
            // `<` starts raw HTML, an autolink or a comment only when a letter, `/`, `!` or `?`
            // follows; "p95 < 500ms" stays as written.
            case "<" where next.map { $0.isLetter || $0 == "/" || $0 == "!" || $0 == "?" } ?? false:
                out += "&lt;"
            // `&` starts an entity only before a letter or `#`.
            case "&" where next.map { $0.isLetter || $0 == "#" } ?? false:
                out += "&amp;"
            case "\r\n", "\n", "\r":
                out += " "
            default:
                out.append(c)
            }
        }
        return out
    }
}
