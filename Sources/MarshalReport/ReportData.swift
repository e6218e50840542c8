import Foundation
import MarshalCore

/// Everything a results document says, computed from journal evidence only. Every number here was
/// measured during a run; where nothing was measured the text is "not measured".
public struct ReportData: Sendable {
    public static let notMeasured = "not measured"

    public struct Row: Sendable { public var cells: [String] }

    public var title: String
    public var runId: String
    public var runbook: String
    public var environment: String
    public var status: String
    public var statusIcon: String
    public var operatorName: String
    public var started: String
    public var ended: String
    public var duration: String
    public var params: String
    public var hosts: [String]
    public var summary: [String]
    public var targets: [Row]
    public var comparison: [Row]
    public var baselineId: String?
    public var endpoints: [Row]
    public var phases: [Row]
    /// Which load test `endpoints` and `phases` come from (the run's last), when there was one.
    public var endpointsSource: String?
    /// Every load test of the run, in order: step (and batch), requests, rate, percentiles, errors, verdict.
    public var loadTests: [Row] = []
    /// The last load test over time, in windows of a few seconds (at most 12 rows).
    public var loadOverTime: [Row] = []
    public var timeline: [Row]
    public var failures: [String]
    public var undone: [String]
    public var evidence: [String]
    public var notMeasuredNotes: [String]

    /// Stencil context: plain strings and arrays only.
    public var context: [String: Any] {
        func rows(_ r: [Row]) -> [[String]] { r.map(\.cells) }
        return [
            "title": title, "run_id": runId, "runbook": runbook, "environment": environment, "status": status,
            "status_icon": statusIcon, "operator": operatorName, "started": started, "ended": ended, "duration": duration,
            "params": params, "hosts": hosts.joined(separator: ", "), "host_count": hosts.count, "summary": summary,
            "targets": rows(targets), "comparison": rows(comparison), "baseline_id": baselineId ?? "", "has_baseline": baselineId != nil,
            "endpoints": rows(endpoints), "phases": rows(phases), "endpoints_source": endpointsSource ?? "",
            "load_tests": rows(loadTests), "several_load_tests": loadTests.count > 1, "load_over_time": rows(loadOverTime), "timeline": rows(timeline), "failures": failures, "undone": undone,
            "evidence": evidence, "not_measured_notes": notMeasuredNotes,
        ]
    }
}

/// Builds `ReportData` from a run's journal records and, optionally, a baseline run's.
public enum ReportBuilder {
    public struct Input: Sendable {
        public var run: RunRecord
        public var steps: [StepRecord]
        public var measurements: [MeasurementRecord]
        public var baseline: (run: RunRecord, measurements: [MeasurementRecord])?
        public init(run: RunRecord, steps: [StepRecord], measurements: [MeasurementRecord],
                    baseline: (run: RunRecord, measurements: [MeasurementRecord])? = nil) {
            self.run = run
            self.steps = steps
            self.measurements = measurements
            self.baseline = baseline
        }
    }

    /// Everything read from the journal goes through the report's one escaping function.
    private static func md(_ text: String) -> String { MarkdownText.escape(text) }

    public static func build(_ input: Input) -> ReportData {
        let run = input.run
        let iso = ISO8601DateFormatter()
        let duration = run.endedAt.map { FigureFormat.seconds($0.timeIntervalSince(run.startedAt)) } ?? "still running or interrupted"
        let hosts = Array(Set(input.steps.compactMap(\.host))).sorted()
        let load = latestLoad(input.measurements)
        let baselineLoad = input.baseline.flatMap { latestLoad($0.measurements) }

        var data = ReportData(
            title: "\(run.runbook) on \(run.environment): results", runId: run.id, runbook: run.runbook, environment: run.environment,
            status: run.status.rawValue.replacingOccurrences(of: "rolledBack", with: "rolled back"),
            statusIcon: run.status == .succeeded ? "✅" : (run.status == .running ? "⏳" : "❌"), operatorName: md(run.operatorName),
            started: iso.string(from: run.startedAt), ended: run.endedAt.map(iso.string) ?? "—", duration: duration,
            params: run.params.isEmpty ? "none" : run.params.sorted { $0.key < $1.key }.map { md("\($0.key)=\($0.value)") }.joined(separator: ", "),
            hosts: hosts.map(md), summary: [], targets: [], comparison: [], baselineId: input.baseline?.run.id, endpoints: [], phases: [],
            timeline: [], failures: [], undone: [], evidence: [], notMeasuredNotes: [])

        // Target vs achieved: every gate measured against an expectation.
        let gates = input.measurements.filter { $0.expectation != nil && ["threshold", "sql", "metric", "probe", "health", "http"].contains($0.kind) }
        let finalGates = lastPerName(gates)
        for m in finalGates {
            var achieved = m.value.map { FigureFormat.value($0, unit: m.unit, metric: m.name) } ?? ReportData.notMeasured
            if ["health", "http"].contains(m.kind), let status = httpStatus(m) {
                // The expectation is about the answer; its latency alone would read as the result.
                achieved = "HTTP \(status)" + (m.value.map { " in \(FigureFormat.ms($0))" } ?? "")
            }
            let status: String
            switch m.outcome {
            case .passed?: status = "✅ passed"
            case .failed?: status = "❌ failed"
            case .inconclusive?: status = "⚠️ inconclusive (no data)"
            case .error?: status = "❌ error"
            case nil: status = "—"
            }
            data.targets.append(ReportData.Row(cells: [m.kind == "threshold" ? m.name : "\(m.kind): \(m.name)", m.expectation ?? "", achieved,
                                                      margin(m), m.host ?? "—", status]))
        }
        let passed = finalGates.filter { $0.outcome == .passed }.count
        let failed = finalGates.filter { $0.outcome == .failed || $0.outcome == .error }.count
        let inconclusive = finalGates.filter { $0.outcome == .inconclusive }.count

        // Summary, in plain words, from the records.
        let main = input.steps.filter { $0.phase == .main }
        data.summary.append("\(run.runbook) ran on \(run.environment) against \(hosts.count) host\(hosts.count == 1 ? "" : "s") and ended **\(data.status)** after \(duration).")
        data.summary.append("\(main.count) step runs: \(main.filter { $0.status == .succeeded }.count) succeeded, \(main.filter { $0.status == .failed || $0.status == .timedOut }.count) failed, \(main.filter { $0.status == .skipped }.count) skipped.")
        data.summary.append(finalGates.isEmpty ? "No gate was measured in this run." : "Gates: \(passed) passed, \(failed) failed, \(inconclusive) inconclusive.")
        if let load {
            data.summary.append(String(format: "Load test: %d requests at %.1f req/s, p95 %@, error rate %@.",
                                       load.overall.count, load.overall.rps, load.overall.latency.ms(\.p95), FigureFormat.percent(load.overall.errorRate)))
        } else {
            data.summary.append("No load test ran: latency and throughput are \(ReportData.notMeasured).")
            data.notMeasuredNotes.append("Latency percentiles, throughput and error rate under load: no benchmark step ran in this run.")
        }
        if let failure = run.failureSummary, run.status != .succeeded { data.failures.append(md(failure)) }

        // Before / after against the baseline.
        let metrics: [(String, (LoadStats) -> String)] = [
            ("p50 latency", { $0.latency.ms(\.p50) }), ("p95 latency", { $0.latency.ms(\.p95) }),
            ("p99 latency", { $0.latency.ms(\.p99) }), ("max latency", { $0.latency.ms(\.max) }),
            ("throughput", { String(format: "%.1f req/s", $0.rps) }), ("error rate", { FigureFormat.percent($0.errorRate) }),
            ("requests", { String($0.count) }),
        ]
        // Latency is only a number when some answer was timed; a change needs both sides.
        func timed(_ l: LatencySummary, _ value: Double) -> Double? { l.count > 0 ? value : nil }
        let numbers: [String: (LoadStats) -> Double?] = [
            "p50 latency": { timed($0.latency, $0.latency.p50) }, "p95 latency": { timed($0.latency, $0.latency.p95) },
            "p99 latency": { timed($0.latency, $0.latency.p99) }, "max latency": { timed($0.latency, $0.latency.max) },
            "throughput": { $0.rps }, "error rate": { $0.errorRate }, "requests": { Double($0.count) },
        ]
        for (name, show) in metrics {
            let before = baselineLoad.map { show($0.overall) } ?? ReportData.notMeasured
            let after = load.map { show($0.overall) } ?? ReportData.notMeasured
            var change = "—"
            if let b = baselineLoad?.overall, let a = load?.overall, let f = numbers[name], let vb = f(b), let va = f(a) {
                change = vb == 0 ? (va == 0 ? "0%" : "from 0") : String(format: "%+.1f%%", (va - vb) / vb * 100)
            }
            data.comparison.append(ReportData.Row(cells: [name, before, after, change]))
        }
        if input.baseline == nil { data.notMeasuredNotes.append("No baseline run was given, so \"before\" is \(ReportData.notMeasured).") }

        // Every load test, one row each; the per-endpoint tables below are the last one's.
        let stepsBySequence = Dictionary(input.steps.map { ($0.sequence, $0) }, uniquingKeysWith: { _, last in last })
        for (m, result) in loads(input.measurements) {
            let step = m.stepSequence.flatMap { stepsBySequence[$0] }
            let title = (step?.name ?? m.name) + (step?.batch.map { ", batch \($0)" } ?? "")
            let verdicts = input.measurements.filter { $0.kind == "threshold" && $0.stepSequence == m.stepSequence && m.stepSequence != nil }
            let verdict = verdicts.isEmpty ? "no thresholds"
                : verdicts.contains { $0.outcome != .passed } ? "❌ " + verdicts.filter { $0.outcome != .passed }.map { $0.expectation ?? $0.name }.joined(separator: ", ")
                : "✅ all \(verdicts.count) passed"
            let o = result.overall
            data.loadTests.append(ReportData.Row(cells: [title, String(o.count), String(format: "%.1f", o.rps), o.latency.ms(\.p50),
                                                         o.latency.ms(\.p95), o.latency.ms(\.p99), FigureFormat.percent(o.errorRate), verdict]))
            data.endpointsSource = title
        }

        // Per-endpoint latency.
        if let load {
            for s in load.scenarios {
                let success = s.count == 0 ? ReportData.notMeasured : FigureFormat.percent(1 - s.errorRate)
                data.endpoints.append(ReportData.Row(cells: [s.name, String(s.count), s.latency.ms(\.min), s.latency.ms(\.mean),
                                                             s.latency.ms(\.p50), s.latency.ms(\.p95), s.latency.ms(\.p99), success]))
            }
            data.loadOverTime = overTime(load.perSecond)
            for (i, p) in load.phases.enumerated() {
                let planned = p.plannedRampTo.map { String(format: "%.0f→%.0f", p.plannedRate, $0) } ?? String(format: "%.1f", p.plannedRate)
                data.phases.append(ReportData.Row(cells: [p.name.map { "\(i + 1). \($0)" } ?? "\(i + 1)", FigureFormat.seconds(p.duration), planned,
                                                          String(format: "%.1f", p.achievedRate), String(p.sent), String(p.dropped)]))
            }
        }

        // Timeline.
        for s in input.steps {
            let took = s.endedAt.map { FigureFormat.seconds($0.timeIntervalSince(s.startedAt)) } ?? "unfinished"
            data.timeline.append(ReportData.Row(cells: [String(s.sequence), s.phase.rawValue, s.batch.map(String.init) ?? "—", s.host ?? "this machine",
                                                        s.name, s.status.rawValue, took]))
            if s.phase == .main, [.failed, .timedOut, .inconclusive].contains(s.status) {
                data.failures.append(md("\(s.name) on \(s.host ?? "this machine"): \(s.message ?? s.status.rawValue)"))
            }
            if s.phase == .undo { data.undone.append(md("\(s.name) on \(s.host ?? "this machine"): \(s.status.rawValue)\(s.message.map { " — \($0)" } ?? "")")) }
        }

        // Other evidence worth keeping: backups, SQL answers.
        for m in input.measurements where m.kind == "backup" {
            data.evidence.append("Backup \(md(m.name))\(m.host.map { " on \(md($0))" } ?? ""): \(m.value.map { FigureFormat.bytes($0) } ?? ReportData.notMeasured)\(m.payloadJSON.map { ", \(md($0))" } ?? "")")
        }
        return data
    }

    /// How far a measured value is from a plain limit, as the reports people wrote by hand put it:
    /// "66% better" (p95 170 ms against < 500 ms), "20% worse" (601 ms against < 500 ms). "—" when
    /// the expectation is not a plain bound, nothing was measured, or the limit is 0.
    static func margin(_ m: MeasurementRecord) -> String {
        guard let text = m.expectation, let value = m.value,
              let expression = try? Expression.parse(text, at: SourceLocation(file: "journal", line: 1, column: 1)),
              let bound = expression.bound, bound.limit != 0 else { return "—" }
        let better = bound.isUpper ? (bound.limit - value) / abs(bound.limit) : (value - bound.limit) / abs(bound.limit)
        if better == 0 { return "at the limit" }
        return String(format: "%.0f%% %@", abs(better) * 100, better > 0 ? "better" : "worse")
    }

    /// The per-second series in windows of 1, 2, 5, 10, 15, 30, 60… seconds, the smallest giving
    /// at most 12 rows. A window with no timed answer shows its latency as not measured.
    static func overTime(_ seconds: [SecondStats]) -> [ReportData.Row] {
        guard !seconds.isEmpty else { return [] }
        let window = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600].first { (seconds.count + $0 - 1) / $0 <= 12 } ?? 3600
        return stride(from: 0, to: seconds.count, by: window).map { start in
            let slice = seconds[start..<min(start + window, seconds.count)]
            let sent = slice.reduce(0) { $0 + $1.sent }, completed = slice.reduce(0) { $0 + $1.completed }
            let errors = slice.reduce(0) { $0 + $1.errors }, dropped = slice.reduce(0) { $0 + $1.dropped }
            let slowest = slice.map(\.maxLatency).max() ?? 0
            let span = window == 1 ? "\(start) s" : "\(start)–\(start + slice.count) s"
            return ReportData.Row(cells: [span, String(sent), String(completed), String(errors),
                                          completed == 0 ? ReportData.notMeasured : FigureFormat.percent(Double(errors) / Double(completed)),
                                          String(dropped), slowest > 0 ? FigureFormat.ms(slowest) : ReportData.notMeasured])
        }
    }

    /// The HTTP status an http or health attempt recorded in its payload.
    static func httpStatus(_ m: MeasurementRecord) -> Int? {
        guard let payload = m.payloadJSON,
              let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else { return nil }
        return (object["status"] as? NSNumber)?.intValue
    }

    static func lastPerName(_ list: [MeasurementRecord]) -> [MeasurementRecord] {
        var seen: [String: Int] = [:]
        var out: [MeasurementRecord] = []
        for m in list {
            let key = "\(m.kind)|\(m.name)|\(m.host ?? "")"
            if let index = seen[key] { out[index] = m } else { seen[key] = out.count; out.append(m) }
        }
        return out
    }

    static func latestLoad(_ measurements: [MeasurementRecord]) -> LoadResult? {
        loads(measurements).last?.1
    }

    /// Every load test's result, in journal order.
    static func loads(_ measurements: [MeasurementRecord]) -> [(MeasurementRecord, LoadResult)] {
        measurements.compactMap { m in
            guard m.kind == "benchmark", let payload = m.payloadJSON,
                  let result = try? JSONDecoder().decode(LoadResult.self, from: Data(payload.utf8)) else { return nil }
            return (m, result)
        }
    }
}

/// How figures read in documents and terminal output: milliseconds, percentages, rates, sizes.
public enum FigureFormat {
    public static func ms(_ seconds: Double) -> String { LatencySummary.milliseconds(seconds) }
    public static func percent(_ fraction: Double) -> String { String(format: "%.2f%%", fraction * 100) }
    public static func seconds(_ s: Double) -> String { s < 60 ? String(format: "%.1f s", s) : String(format: "%dm %02ds", Int(s) / 60, Int(s) % 60) }
    public static func bytes(_ b: Double) -> String { b > 1_000_000 ? String(format: "%.1f MB", b / 1_000_000) : String(format: "%.0f bytes", b) }
    public static func value(_ v: Double, unit: String?, metric: String) -> String {
        switch unit {
        case "s"?: return ms(v)
        case "ratio"?: return percent(v)
        case "req/s"?: return String(format: "%.1f req/s", v)
        case "bytes"?: return bytes(v)
        default:
            let number = v.rounded() == v && abs(v) < 1e15 ? String(Int(v)) : String(format: "%.3f", v)
            return number + (unit.map { " \($0)" } ?? "")
        }
    }
}
