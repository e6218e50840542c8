import Foundation
import MarshalCore

/// One load test of a run: its own phases, endpoints, thresholds, over-time table and
/// before/after against the baseline run's load test of the same step and batch.
public struct LoadSection: Sendable {
    /// What pairs a load test with the baseline's: the step's `id:` (else its position and
    /// name), its batch and host.
    public struct Key: Hashable, Sendable {
        public var step: String
        public var batch: Int?
        public var host: String?
    }

    public var key: Key
    public var title: String
    public var result: LoadResult
    public var measurement: MeasurementRecord
    public var phases: [ReportData.Row] = []
    public var endpoints: [ReportData.Row] = []
    public var thresholds: [ReportData.Row] = []
    public var overTime: [ReportData.Row] = []
    public var comparison: [ReportData.Row] = []
    /// Which baseline load test "before" is, or why there is none.
    public var baselineNote: String = ""
    /// File name of the SVG chart written beside the document, when one was.
    public var chart: String?
    public var sparkline: String = ""
    /// A virtual-user test: "**1000 concurrent users** …" with the pace they kept; empty otherwise.
    public var users: String = ""
    /// Latency limits of its thresholds, drawn on the chart.
    public var limits: [LoadChart.Limit] = []

    /// The chart, when `chart` names a file to write it to.
    public var svg: String { LoadChart.svg(title: "Load test: \(title)", result: result, limits: limits) }

    /// Every load test's result with its step, in journal order.
    static func loads(_ measurements: [MeasurementRecord], steps: [StepRecord]) -> [(MeasurementRecord, StepRecord?, LoadResult)] {
        let bySequence = Dictionary(steps.map { ($0.sequence, $0) }, uniquingKeysWith: { _, last in last })
        return measurements.compactMap { m in
            guard m.measurementKind == .benchmark, let payload = m.payloadJSON,
                  let result = try? JSONDecoder().decode(LoadResult.self, from: Data(payload.utf8)) else { return nil }
            return (m, m.stepSequence.flatMap { bySequence[$0] }, result)
        }
    }

    static func key(_ m: MeasurementRecord, _ step: StepRecord?) -> Key {
        let name = step.map { $0.stepId ?? "#\($0.stepIndex) \($0.name)" } ?? m.name
        return Key(step: name, batch: step?.batch, host: step?.host ?? m.host)
    }

    static func title(_ m: MeasurementRecord, _ step: StepRecord?) -> String {
        var title = step?.name ?? "load test of \(m.name)"
        if let id = step?.stepId, id != step?.name { title += " (id \(id))" }
        if let batch = step?.batch { title += ", batch \(batch)" }
        if let host = step?.host {
            title += ", on \(host)"
        } else if let host = m.host {
            // A per-host load test of a `targets: batch` step: canary or stable, and which host.
            let side = m.name.split(separator: " ").first.map(String.init).flatMap { BenchmarkStep.sides.contains($0) ? $0 : nil }
            title += side.map { ", \($0) on \(host)" } ?? ", on \(host)"
        }
        return title
    }

    /// Latency with its percentiles computed again from the journaled HdrHistogram when the
    /// result kept one (older results: the summary as recorded).
    public static func latency(_ stats: LoadStats) -> LatencySummary {
        var l = stats.latency
        guard let h = stats.latencyHistogram, h.count > 0, l.count > 0 else { return l }
        l.p50 = h.value(atPercentile: 50)
        l.p75 = h.value(atPercentile: 75)
        l.p90 = h.value(atPercentile: 90)
        l.p95 = h.value(atPercentile: 95)
        l.p99 = h.value(atPercentile: 99)
        l.p999 = h.value(atPercentile: 99.9)
        return l
    }

    static func successRate(_ s: LoadStats) -> String {
        s.count == 0 ? ReportData.notMeasured : FigureFormat.percent(1 - s.errorRate)
    }

    static func endpointRow(_ s: LoadStats, name: String) -> ReportData.Row {
        let l = latency(s)
        return ReportData.Row(cells: [name, String(s.count), l.ms(\.min), l.ms(\.mean), l.ms(\.p50), l.ms(\.p95), l.ms(\.p99), successRate(s)])
    }

    static func build(_ m: MeasurementRecord, step: StepRecord?, result: LoadResult, gates: [GateEvaluation],
                      baseline: [Key: (MeasurementRecord, StepRecord?, LoadResult)]?, baselineRun: String?) -> LoadSection {
        var section = LoadSection(key: key(m, step), title: title(m, step), result: result, measurement: m)
        for (i, p) in result.phases.enumerated() {
            let planned = p.plannedRampTo.map { String(format: "%.0f→%.0f", p.plannedRate, $0) } ?? String(format: "%.1f", p.plannedRate)
            section.phases.append(ReportData.Row(cells: [p.name.map { "\(i + 1). \($0)" } ?? "\(i + 1)", FigureFormat.seconds(p.duration), planned,
                                                         String(format: "%.1f", p.achievedRate), String(p.sent), String(p.dropped)]))
        }
        section.endpoints = result.scenarios.map { endpointRow($0, name: $0.name) }
        section.endpoints.append(endpointRow(result.overall, name: "all endpoints"))
        let own = gates.filter { $0.measurement.measurementKind == .threshold && $0.measurement.stepSequence == m.stepSequence && m.stepSequence != nil }
        section.limits = LoadChart.limits(own)
        section.thresholds = own.map { ReportData.Row(cells: [$0.title, $0.measurement.expectation ?? "", $0.achieved, $0.margin, $0.verdict.text]) }
        section.overTime = ReportBuilder.overTime(result.perSecond)
        section.sparkline = Sparkline.text(result.perSecond.map { Double($0.completed) })
        if let u = result.users { section.users = usersLine(u) }

        let before = baseline?[section.key]
        switch (baseline, before) {
        case (nil, _): section.baselineNote = "No baseline run to compare with."
        case (_, nil): section.baselineNote = "The baseline run `\(baselineRun ?? "")` has no load test of this step and batch, so \"before\" is \(ReportData.notMeasured)."
        case (_, let b?): section.baselineNote = "Before: \(MarkdownText.escape(title(b.0, b.1))) in run `\(baselineRun ?? "")`."
        }
        section.comparison = comparison(before: before?.2.overall, after: result.overall)
        return section
    }

    /// "N concurrent users" as reference 000/001 state the target, then how the run kept the plan.
    static func usersLine(_ u: UserStats) -> String {
        let off = u.plannedRate > 0 ? String(format: "%+.1f%%", (u.achievedRate - u.plannedRate) / u.plannedRate * 100) : "—"
        var parts = ["**\(u.served) concurrent users** (\(u.planned) planned, \(u.started) sent a request, \(u.served) answered)",
                     "think time \(FigureFormat.seconds(u.thinkTime))"]
        if u.rampUp > 0 { parts.append("ramp-up \(FigureFormat.seconds(u.rampUp))") }
        parts.append(String(format: "%.1f req/s sent against %.1f planned (%@)", u.achievedRate, u.plannedRate, off))
        parts.append("sends late by \(LatencySummary.milliseconds(u.meanLateness)) on average, \(LatencySummary.milliseconds(u.maxLateness)) at most")
        return parts.joined(separator: "; ") + "."
    }

    /// Before/after rows of two load tests' overall figures; "—" change unless both sides were measured.
    static func comparison(before: LoadStats?, after: LoadStats) -> [ReportData.Row] {
        typealias Figure = (name: String, show: (LoadStats) -> String, number: (LoadStats) -> Double?)
        func timed(_ s: LoadStats, _ k: KeyPath<LatencySummary, Double>) -> Double? { let l = latency(s); return l.count > 0 ? l[keyPath: k] : nil }
        let figures: [Figure] = [
            ("p50 latency", { latency($0).ms(\.p50) }, { timed($0, \.p50) }),
            ("p95 latency", { latency($0).ms(\.p95) }, { timed($0, \.p95) }),
            ("p99 latency", { latency($0).ms(\.p99) }, { timed($0, \.p99) }),
            ("max latency", { latency($0).ms(\.max) }, { timed($0, \.max) }),
            ("throughput", { String(format: "%.1f req/s", $0.rps) }, { $0.rps }),
            ("success rate", successRate, { $0.count == 0 ? nil : 1 - $0.errorRate }),
            ("error rate", { FigureFormat.percent($0.errorRate) }, { $0.count == 0 ? nil : $0.errorRate }),
            ("requests", { String($0.count) }, { Double($0.count) }),
        ]
        return figures.map { f in
            var change = "—"
            if let b = before, let vb = f.number(b), let va = f.number(after) {
                change = vb == 0 ? (va == 0 ? "0%" : "from 0") : String(format: "%+.1f%%", (va - vb) / vb * 100)
            }
            return ReportData.Row(cells: [f.name, before.map(f.show) ?? ReportData.notMeasured, f.show(after), change])
        }
    }
}
