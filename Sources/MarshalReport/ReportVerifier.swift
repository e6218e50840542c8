import Foundation

/// Checks an existing results document against the one the journal gives now: every figure
/// (table cell, number in a sentence) must be the same. A difference is named by its section,
/// row and column, with both values, so a hand-edited figure cannot pass as measured.
public enum ReportVerifier {
    public struct Difference: Sendable, Equatable, CustomStringConvertible {
        public var place: String
        public var document: String
        public var journal: String
        public var description: String { "\(place): the document says \"\(document)\", the journal gives \"\(journal)\"" }
    }

    public static func differences(document: String, recomputed: String) -> [Difference] {
        let a = lines(document), b = lines(recomputed)
        var out: [Difference] = []
        var section = "top", header: [String] = []
        for i in 0..<max(a.count, b.count) {
            guard i < a.count, i < b.count else {
                out.append(Difference(place: "line \(i + 1)", document: i < a.count ? a[i] : "(end of document)", journal: i < b.count ? b[i] : "(end of document)"))
                break
            }
            let line = b[i]
            if line.hasPrefix("#") { section = line.trimmingCharacters(in: CharacterSet(charactersIn: "# ")) }
            let cellsB = cells(line)
            if !cellsB.isEmpty, i + 1 < b.count, b[i + 1].hasPrefix("|---") { header = cellsB }
            guard a[i] != line else { continue }
            let cellsA = cells(a[i])
            if !cellsA.isEmpty, cellsA.count == cellsB.count {
                for (column, (x, y)) in zip(cellsA, cellsB).enumerated() where x != y {
                    let name = column < header.count ? header[column] : "column \(column + 1)"
                    out.append(Difference(place: "\(section) › \(cellsB.first ?? "") › \(name) (line \(i + 1))", document: x, journal: y))
                }
            } else {
                let figuresA = figures(a[i]), figuresB = figures(line)
                if figuresA.count == figuresB.count, figuresA != figuresB {
                    for (x, y) in zip(figuresA, figuresB) where x != y {
                        out.append(Difference(place: "\(section), line \(i + 1)", document: x, journal: y))
                    }
                } else {
                    out.append(Difference(place: "\(section), line \(i + 1)", document: a[i], journal: line))
                }
            }
        }
        return out
    }

    static func lines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: .whitespaces) }
    }

    /// A Markdown table row's cells (pipes escaped as `\|` stay inside their cell); [] for other lines.
    static func cells(_ line: String) -> [String] {
        guard line.hasPrefix("|"), line.hasSuffix("|"), !line.hasPrefix("|---") else { return [] }
        var cells: [String] = [], current = "", escaped = false
        for ch in line.dropFirst().dropLast() {
            if escaped { current.append(ch); escaped = false; continue }
            if ch == "\\" { current.append(ch); escaped = true; continue }
            if ch == "|" { cells.append(current.trimmingCharacters(in: .whitespaces)); current = ""; continue }
            current.append(ch)
        }
        cells.append(current.trimmingCharacters(in: .whitespaces))
        return cells
    }

    /// Numbers with their unit in a sentence: `94 ms`, `2.00%`, `12.5 req/s`, `1000`.
    static func figures(_ line: String) -> [String] {
        let pattern = #"[-+]?[0-9][0-9.,]*(\s?(ms|%|req/s|s|MB|GB|kB|bytes|×))?"#
        guard let re = try? NSRegularExpression(pattern: pattern) else { return [] }
        let ns = line as NSString
        return re.matches(in: line, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range) }
    }
}
