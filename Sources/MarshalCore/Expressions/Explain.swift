import Foundation

extension Expression {
    /// A one-line account for an operator, e.g. `p95 = 612ms; expected p95 < 500ms`.
    ///
    /// Each referenced name or path is shown with its value (or `no data`); latencies are printed as
    /// durations, `*_rate` values as percentages and sizes in bytes, judged by the name.
    public func explain(in scope: some ExpressionScope) -> String {
        let evaluator = Evaluator(scope: scope)
        var parts: [String] = []
        for leaf in leaves {
            let label: String
            var kind = Quantity.plain
            switch leaf {
            case .name(let name):
                label = name
                kind = Quantity(name: name)
            case .path(let path):
                label = path.text
                if case .key(let key)? = path.segments.last { kind = Quantity(name: key) }
            case .call(let function, let arguments):
                guard case .name(let name)? = arguments.first else { continue }
                label = "\(function.rawValue)(\(name))"
                kind = function == .rate ? .rate : Quantity(name: name)
            default:
                continue
            }
            do {
                let value = try evaluator.evaluate(leaf)
                parts.append("\(label) = \(kind.format(value))")
            } catch {
                parts.append("\(label) = no data")
            }
        }
        // A computed side (`delta(hits) / (delta(hits) + delta(misses))`) is shown with its value too.
        if case .compare(_, let left, let right) = root {
            for side in [left, right] {
                guard case .arithmetic = side, let value = try? evaluator.evaluate(side) else { continue }
                parts.append("computed = \(Quantity.plain.format(value))")
            }
        }
        var text = parts.joined(separator: ", ")
        text += (text.isEmpty ? "" : "; ") + "expected \(source)"
        do {
            _ = try evaluate(in: scope)
        } catch {
            switch error {
            case .noData: break
            case .typeMismatch(let message), .invalid(let message): text += " (\(message))"
            }
        }
        return text
    }
}

/// How a named value is best shown to a person.
enum Quantity {
    case duration, fraction, bytes, plain
    /// Per second, shown per second and per minute.
    case rate

    init(name: String) {
        let last = (name.split(separator: ".").last.map(String.init) ?? name).lowercased()
        let durations: Set<String> = ["max", "min", "avg", "mean", "median", "duration", "latency", "elapsed"]
        if durations.contains(last) || last.hasSuffix("_duration") || last.hasSuffix("_latency")
            || last.hasSuffix("_time") || Quantity.isPercentile(last) {
            self = .duration
        } else if last.hasSuffix("_rate") || last == "rate" && name.contains("error") {
            self = .fraction
        } else if last == "size" || last.hasSuffix("_size") || last == "bytes" || last.hasSuffix("_bytes") {
            self = .bytes
        } else {
            self = .plain
        }
    }

    /// `p50`, `p95`, `p99`, `p999`, `p99_9`.
    private static func isPercentile(_ name: String) -> Bool {
        guard name.first == "p", name.count > 1 else { return false }
        return name.dropFirst().allSatisfy { $0.isASCII && ($0.isNumber || $0 == "_") }
    }

    func format(_ value: ExprValue) -> String {
        switch value {
        case .number(let number): format(number)
        case .array(let items):
            "[" + items.prefix(20).map(format).joined(separator: ", ") + (items.count > 20 ? ", … (\(items.count) values)" : "") + "]"
        default: Semantics.shorten(value, limit: 120)
        }
    }

    func format(_ number: Double) -> String {
        guard number.isFinite else { return ExprValue.format(number: number) }
        switch self {
        case .plain:
            return ExprValue.format(number: number)
        case .rate:
            return Quantity.trim(number) + "/s (" + Quantity.trim(number * 60) + "/min)"
        case .fraction:
            return Quantity.trim(number * 100) + "%"
        case .duration:
            let magnitude = abs(number)
            if magnitude == 0 { return "0s" }
            if magnitude < 0.001 { return Quantity.trim(number * 1_000_000) + "µs" }
            if magnitude < 1 { return Quantity.trim(number * 1000) + "ms" }
            if magnitude < 120 { return Quantity.trim(number) + "s" }
            if magnitude < 7200 { return Quantity.trim(number / 60) + "m" }
            return Quantity.trim(number / 3600) + "h"
        case .bytes:
            let magnitude = abs(number)
            if magnitude < 1000 { return Quantity.trim(number) + "B" }
            if magnitude < 1_000_000 { return Quantity.trim(number / 1000) + "KB" }
            if magnitude < 1_000_000_000 { return Quantity.trim(number / 1_000_000) + "MB" }
            return Quantity.trim(number / 1_000_000_000) + "GB"
        }
    }

    /// At most three decimals, trailing zeros dropped: 612.0 → "612", 0.25 → "0.25".
    static func trim(_ number: Double) -> String {
        var text = String(format: "%.3f", number)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }
}
