import Foundation

/// A string from an input file that may contain `{{ … }}` placeholders; rendered later, per host.
public struct TemplateString: Sendable, Hashable, CustomStringConvertible {
    public var source: String
    public var location: SourceLocation

    public init(_ source: String, at location: SourceLocation) {
        self.source = source
        self.location = location
    }

    public var isConstant: Bool { !source.contains("{{") && !source.contains("{%") }
    public var description: String { source }
}

/// A duration written in a file (`30s`, `500ms`, `2m`, `1h`), with where it was written.
public enum DurationText {
    /// Parses `250ms`, `30s`, `2m`, `1h`, `1h30m`, `1.5s`; a bare number means seconds.
    public static func parse(_ text: String) -> Duration? {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty else { return nil }
        if let seconds = Double(s), seconds >= 0, seconds.isFinite { return .milliseconds(Int64((seconds * 1000).rounded())) }
        var total = 0.0
        var number = ""
        var unit = ""
        var parts: [(Double, String)] = []
        func flush() -> Bool {
            guard let value = Double(number), !unit.isEmpty else { return false }
            parts.append((value, unit)); number = ""; unit = ""
            return true
        }
        for ch in s {
            if ch.isNumber || ch == "." {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(ch)
            } else if ch.isLetter {
                guard !number.isEmpty else { return nil }
                unit.append(ch)
            } else { return nil }
        }
        guard flush() else { return nil }
        for (value, unit) in parts {
            switch unit {
            case "ms": total += value / 1000
            case "s": total += value
            case "m", "min": total += value * 60
            case "h": total += value * 3600
            case "d": total += value * 86400
            default: return nil
            }
        }
        guard total.isFinite, total < 1e9 else { return nil }
        return .milliseconds(Int64((total * 1000).rounded()))
    }

    public static func format(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        if ms % 3_600_000 == 0, ms > 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0, ms > 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }
}

extension Duration {
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
