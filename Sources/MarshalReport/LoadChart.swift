import Foundation
import MarshalCore

/// An SVG picture of one load test over time, self-contained (no script, font or image fetched):
/// answers per second as bars on the right axis, the slowest answer of each second as a line
/// on the left axis, the run's p50/p95/p99 and each latency threshold as horizontal lines, and
/// every second with errors marked in red.
///
/// The journal keeps, per second, the counts and the slowest answer; percentiles exist for the
/// whole test (from its histogram), so they are drawn as levels, not as curves.
public enum LoadChart {
    public struct Limit: Sendable {
        public var label: String
        public var seconds: Double
    }

    static let width = 860.0, height = 420.0
    static let left = 70.0, right = 70.0, top = 40.0, bottom = 60.0

    public static func svg(title: String, result: LoadResult, limits: [Limit]) -> String {
        let seconds = result.perSecond
        let plotW = width - left - right, plotH = height - top - bottom
        let latency = LoadSection.latency(result.overall)
        let slowest = seconds.map(\.maxLatency)
        let topLatency = niceCeiling(max((slowest.max() ?? 0), latency.count > 0 ? latency.p99 : 0, limits.map(\.seconds).max() ?? 0, 0.001) * 1000 * 1.1)
        let topRate = niceCeiling(Double(max(seconds.map(\.completed).max() ?? 0, seconds.map(\.sent).max() ?? 0, 1)) * 1.1)
        let n = max(seconds.count, 1)
        let slot = plotW / Double(n)
        func x(_ i: Int) -> Double { left + Double(i) * slot }
        func yLatency(_ s: Double) -> Double { top + plotH - min(s * 1000 / topLatency, 1) * plotH }
        func yRate(_ r: Double) -> Double { top + plotH - min(r / topRate, 1) * plotH }

        var out: [String] = []
        out.append(##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(Int(width))" height="\##(Int(height))" viewBox="0 0 \##(Int(width)) \##(Int(height))" font-family="sans-serif" font-size="12">"##)
        out.append(##"<rect width="100%" height="100%" fill="#ffffff"/>"##)
        out.append(##"<text x="\##(left)" y="22" font-size="15" font-weight="bold">\##(escape(title))</text>"##)
        // Grid and axes.
        for i in 0...5 {
            let f = Double(i) / 5, y = top + plotH - f * plotH
            out.append(##"<line x1="\##(left)" y1="\##(f2(y))" x2="\##(left + plotW)" y2="\##(f2(y))" stroke="#e5e5e5"/>"##)
            out.append(##"<text x="\##(left - 6)" y="\##(f2(y + 4))" text-anchor="end" fill="#1f4e99">\##(number(topLatency * f))</text>"##)
            out.append(##"<text x="\##(left + plotW + 6)" y="\##(f2(y + 4))" fill="#5a8f29">\##(number(topRate * f))</text>"##)
        }
        out.append(##"<line x1="\##(left)" y1="\##(top)" x2="\##(left)" y2="\##(top + plotH)" stroke="#333"/>"##)
        out.append(##"<line x1="\##(left + plotW)" y1="\##(top)" x2="\##(left + plotW)" y2="\##(top + plotH)" stroke="#333"/>"##)
        out.append(##"<line x1="\##(left)" y1="\##(top + plotH)" x2="\##(left + plotW)" y2="\##(top + plotH)" stroke="#333"/>"##)
        let tickEvery = max(1, Int((Double(n) / 10).rounded(.up)))
        for i in stride(from: 0, through: n, by: tickEvery) {
            out.append(##"<line x1="\##(f2(x(i)))" y1="\##(top + plotH)" x2="\##(f2(x(i)))" y2="\##(top + plotH + 5)" stroke="#333"/>"##)
            out.append(##"<text x="\##(f2(x(i)))" y="\##(top + plotH + 18)" text-anchor="middle">\##(i)</text>"##)
        }
        out.append(##"<text x="\##(left + plotW / 2)" y="\##(height - 22)" text-anchor="middle">time since the start of the load test (s)</text>"##)
        out.append(##"<text transform="translate(16 \##(top + plotH / 2)) rotate(-90)" text-anchor="middle" fill="#1f4e99">latency (ms)</text>"##)
        out.append(##"<text transform="translate(\##(width - 14) \##(top + plotH / 2)) rotate(90)" text-anchor="middle" fill="#5a8f29">answers per second (req/s)</text>"##)
        // Request rate: bars.
        for (i, s) in seconds.enumerated() {
            let y = yRate(Double(s.completed))
            out.append(##"<rect x="\##(f2(x(i) + slot * 0.15))" y="\##(f2(y))" width="\##(f2(slot * 0.7))" height="\##(f2(top + plotH - y))" fill="#a9d18e" fill-opacity="0.7"><title>\##(s.second) s: \##(s.completed) answers, \##(s.errors) errors, \##(s.dropped) dropped</title></rect>"##)
        }
        // Overall percentiles and thresholds as levels.
        if latency.count > 0 {
            // Percentiles are often a few ms apart (p95 603 ms, p99 609 ms): each label gets its own
            // column so that lines drawn on top of each other still have readable labels.
            for (column, (name, value, dash)) in [("p50", latency.p50, "2 3"), ("p95", latency.p95, "6 3"), ("p99", latency.p99, "10 4")].enumerated() {
                let y = yLatency(value)
                out.append(##"<line x1="\##(left)" y1="\##(f2(y))" x2="\##(left + plotW)" y2="\##(f2(y))" stroke="#1f4e99" stroke-dasharray="\##(dash)" stroke-opacity="0.8"/>"##)
                out.append(##"<text x="\##(left + 4 + Double(column) * 110)" y="\##(f2(y - 3))" fill="#1f4e99">\##(name) \##(escape(FigureFormat.ms(value)))</text>"##)
            }
        }
        for limit in limits {
            let y = yLatency(limit.seconds)
            out.append(##"<line x1="\##(left)" y1="\##(f2(y))" x2="\##(left + plotW)" y2="\##(f2(y))" stroke="#c00000" stroke-width="2"/>"##)
            out.append(##"<text x="\##(left + plotW - 4)" y="\##(f2(y - 4))" text-anchor="end" fill="#c00000">threshold \##(escape(limit.label))</text>"##)
        }
        // Slowest answer per second: a line through the seconds that had one.
        let points = seconds.enumerated().filter { $0.element.maxLatency > 0 }.map { "\(f2(x($0.offset) + slot / 2)),\(f2(yLatency($0.element.maxLatency)))" }
        if points.count > 1 {
            out.append(##"<polyline points="\##(points.joined(separator: " "))" fill="none" stroke="#1f4e99" stroke-width="2"/>"##)
        }
        for (i, s) in seconds.enumerated() where s.maxLatency > 0 {
            out.append(##"<circle cx="\##(f2(x(i) + slot / 2))" cy="\##(f2(yLatency(s.maxLatency)))" r="2.5" fill="#1f4e99"><title>\##(s.second) s: slowest \##(escape(FigureFormat.ms(s.maxLatency)))</title></circle>"##)
        }
        // Failures: a red mark above every second with errors or dropped requests.
        for (i, s) in seconds.enumerated() where s.errors > 0 || s.dropped > 0 {
            let cx = x(i) + slot / 2
            out.append(##"<path d="M\##(f2(cx - 5)) \##(top + 2) L\##(f2(cx + 5)) \##(top + 12) M\##(f2(cx + 5)) \##(top + 2) L\##(f2(cx - 5)) \##(top + 12)" stroke="#c00000" stroke-width="2.5"><title>\##(s.second) s: \##(s.errors) errors, \##(s.dropped) dropped</title></path>"##)
        }
        // Legend.
        let ly = height - 6
        out.append(##"<line x1="\##(left)" y1="\##(ly - 4)" x2="\##(left + 20)" y2="\##(ly - 4)" stroke="#1f4e99" stroke-width="2"/><text x="\##(left + 24)" y="\##(ly)">slowest answer each second</text>"##)
        out.append(##"<rect x="\##(left + 200)" y="\##(ly - 10)" width="14" height="10" fill="#a9d18e"/><text x="\##(left + 218)" y="\##(ly)">answers per second</text>"##)
        out.append(##"<line x1="\##(left + 360)" y1="\##(ly - 4)" x2="\##(left + 380)" y2="\##(ly - 4)" stroke="#c00000" stroke-width="2"/><text x="\##(left + 384)" y="\##(ly)">threshold</text>"##)
        out.append(##"<text x="\##(left + 460)" y="\##(ly)" fill="#c00000">✕ errors or dropped in that second</text>"##)
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    /// Latency limits of a load test's thresholds (`p95 < 500ms` → 500 ms), for the red lines.
    static func limits(_ gates: [GateEvaluation]) -> [Limit] {
        gates.compactMap { g in
            guard g.measurement.unit == "s", let text = g.measurement.expectation,
                  let bound = (try? Expression.parse(text, at: SourceLocation(file: "journal", line: 1, column: 1)))?.bound else { return nil }
            return Limit(label: text, seconds: bound.limit)
        }
    }

    static func niceCeiling(_ v: Double) -> Double {
        guard v > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(v)))
        for step in [1.0, 2, 2.5, 5, 10] where step * magnitude >= v { return step * magnitude }
        return 10 * magnitude
    }

    static func number(_ v: Double) -> String { v >= 10 || v == 0 ? String(Int(v.rounded())) : String(format: "%.1f", v) }
    static func f2(_ v: Double) -> String { String(format: "%.1f", v) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
