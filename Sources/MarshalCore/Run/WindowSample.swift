/// What a windowed gate (`over:`) measured at the start of its window, and at its end when the end
/// was sampled separately (a named span); without `end`, the gate's own measurement is the end.
public struct WindowSample: Sendable, Hashable {
    public var start: [String: Double]
    public var end: [String: Double]?
    /// Seconds between the two samples.
    public var seconds: Double

    public init(start: [String: Double], end: [String: Double]? = nil, seconds: Double) {
        self.start = start
        self.end = end
        self.seconds = seconds
    }

    /// `name` at both ends, or nil when either end lacks it.
    public func value(of name: String, current: [String: ExprValue]) -> WindowedValue? {
        guard let first = start[name] else { return nil }
        let last: Double
        if let end {
            guard let value = end[name] else { return nil }
            last = value
        } else {
            guard case .number(let value)? = current[name] else { return nil }
            last = value
        }
        return WindowedValue(start: first, end: last, seconds: seconds)
    }

    /// Evidence: the window's length and, per value measured at both ends, start, end, delta and rates.
    public func evidence(current: [String: ExprValue], names: [String]) -> ConfigValue {
        var entries: [ConfigEntry] = [ConfigEntry(key: "seconds", value: .number(seconds), location: .synthetic("evidence"))]
        for name in names {
            guard let window = value(of: name, current: current) else { continue }
            var fields: [ConfigEntry] = [
                ConfigEntry(key: "start", value: .number(window.start), location: .synthetic("evidence")),
                ConfigEntry(key: "end", value: .number(window.end), location: .synthetic("evidence")),
                ConfigEntry(key: "delta", value: .number(window.delta), location: .synthetic("evidence")),
            ]
            if let rate = window.rate {
                fields.append(ConfigEntry(key: "rate_per_second", value: .number(rate), location: .synthetic("evidence")))
                fields.append(ConfigEntry(key: "rate_per_minute", value: .number(rate * 60), location: .synthetic("evidence")))
            }
            entries.append(ConfigEntry(key: name, value: .map(fields), location: .synthetic("evidence")))
        }
        return .map(entries)
    }
}

extension [String: ExprValue] {
    /// The numeric values, as a window samples them.
    public var numbers: [String: Double] {
        var out: [String: Double] = [:]
        for (key, value) in self { if case .number(let n) = value, n.isFinite { out[key] = n } }
        return out
    }
}
