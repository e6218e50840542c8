import Foundation
import MarshalCore

/// Builds `ReportData` from a run's journal records and, optionally, a baseline run's.
public enum ReportBuilder {
    /// One run as the journal holds it.
    public struct Evidence: Sendable {
        public var run: RunRecord
        public var steps: [StepRecord]
        public var measurements: [MeasurementRecord]
        public init(run: RunRecord, steps: [StepRecord], measurements: [MeasurementRecord]) {
            self.run = run
            self.steps = steps
            self.measurements = measurements
        }
    }

    /// What the report compares with.
    public enum Baseline: Sendable {
        case none
        /// `last-success` was asked and there is no earlier successful run.
        case noSuccessfulRun
        case run(Evidence)
    }

    public struct Input: Sendable {
        public var run: RunRecord
        public var steps: [StepRecord]
        public var measurements: [MeasurementRecord]
        public var baseline: Baseline
        /// File name stem for each load test's SVG chart (`results` → `results-load-1.svg`),
        /// written beside the document; nil when the document goes to standard output.
        public var chartStem: String?
        public init(run: RunRecord, steps: [StepRecord], measurements: [MeasurementRecord], baseline: Baseline = .none, chartStem: String? = nil) {
            self.chartStem = chartStem
            self.run = run
            self.steps = steps
            self.measurements = measurements
            self.baseline = baseline
        }
    }

    /// Journal text outside table cells (cells are escaped by the template's `cells` filter).
    static func md(_ text: String) -> String { MarkdownText.escape(text) }

    public static func build(_ input: Input) -> ReportData {
        let run = input.run
        let iso = ISO8601DateFormatter()
        let duration = run.endedAt.map { FigureFormat.seconds($0.timeIntervalSince(run.startedAt)) } ?? "still running or interrupted"
        var hosts = Array(Set(input.steps.compactMap(\.host))).sorted()
        // A local run records its steps with no host: it still ran against one machine.
        if hosts.isEmpty, input.steps.contains(where: { $0.phase == .main }) { hosts = ["this machine"] }
        let status = FigureFormat.words(run.status)

        var data = ReportData(
            title: "\(run.runbook) on \(run.environment): results", runId: run.id, runbook: run.runbook, environment: run.environment,
            status: status, statusIcon: run.status == .succeeded ? "✅" : (run.status == .running ? "⏳" : "❌"), operatorName: md(run.operatorName),
            started: iso.string(from: run.startedAt), ended: run.endedAt.map(iso.string) ?? "—", duration: duration,
            params: run.params.isEmpty ? "none" : run.params.sorted { $0.key < $1.key }.map { md("\($0.key)=\($0.value)") }.joined(separator: ", "),
            hosts: hosts.map(md))

        // Every gate evaluation, grouped by the step run that made it; counts from the same list.
        let gates = GateEvaluation.all(input.measurements, steps: input.steps)
        var groupIndex: [Int?: Int] = [:]
        var grouped: [[GateEvaluation]] = []
        for g in gates {
            let key = g.measurement.stepSequence
            if groupIndex[key] == nil {
                groupIndex[key] = data.gateGroups.count
                data.gateGroups.append(.init(title: groupTitle(g), rows: []))
                grouped.append([])
            }
            grouped[groupIndex[key]!].append(g)
            data.gateGroups[groupIndex[key]!].rows.append(ReportData.Row(cells: [
                g.title, g.measurement.expectation ?? "—", g.achieved, g.margin, g.measurement.host ?? g.step?.host ?? "—", g.verdict.text]))
        }
        data.gates = grouped.flatMap { $0 }
        var c = ReportData.Counts()
        c.gates = gates.count
        for g in gates {
            switch g.verdict {
            case .passed: c.passed += 1
            case .failed: c.failed += 1
            case .failedIgnored: c.failed += 1; c.ignored += 1
            case .inconclusive: c.inconclusive += 1
            case .error: c.errors += 1
            }
        }
        let main = input.steps.filter { $0.phase == .main }
        c.stepRuns = main.count
        for s in main {
            switch s.status {
            case .succeeded: c.stepsSucceeded += 1
            case .failed, .timedOut: c.stepsFailed += 1
            case .ignoredFailure: c.stepsIgnored += 1
            case .skipped: c.stepsSkipped += 1
            case .inconclusive: c.stepsInconclusive += 1
            case .started, .paused: c.stepsUnfinished += 1
            }
        }
        data.counts = c

        // Summary, in plain words, from the same counts.
        data.summary.append("\(md(run.runbook)) ran on \(md(run.environment)) against \(hosts.count) host\(hosts.count == 1 ? "" : "s") and ended **\(status)** after \(duration).")
        var stepLine = "\(c.stepRuns) step run\(c.stepRuns == 1 ? "" : "s"): \(c.stepsSucceeded) succeeded, \(c.stepsFailed + c.stepsIgnored) failed"
        if c.stepsIgnored > 0 { stepLine += " (\(c.stepsIgnored) of them ignored under ignore_failure)" }
        stepLine += ", \(c.stepsSkipped) skipped"
        if c.stepsInconclusive > 0 { stepLine += ", \(c.stepsInconclusive) inconclusive" }
        if c.stepsUnfinished > 0 { stepLine += ", \(c.stepsUnfinished) unfinished" }
        data.summary.append(stepLine + ".")
        if gates.isEmpty {
            data.summary.append("No gate was measured in this run.")
        } else {
            var line = "\(c.gates) gate evaluation\(c.gates == 1 ? "" : "s"): \(c.passed) passed, \(c.failed) failed"
            if c.ignored > 0 { line += " (\(c.ignored) of them ignored under ignore_failure)" }
            line += ", \(c.inconclusive) inconclusive"
            if c.errors > 0 { line += ", \(c.errors) could not run" }
            data.summary.append(line + ".")
        }

        data.targets = Targets.rows(gates)

        // Baseline.
        var baselineLoads: [LoadSection.Key: (MeasurementRecord, StepRecord?, LoadResult)]?
        var baselineRunId: String?
        switch input.baseline {
        case .none:
            data.notMeasuredNotes.append("No baseline run was given, so \"before\" is \(ReportData.notMeasured).")
        case .noSuccessfulRun:
            data.baselineLine = "No successful run to compare with: the runbook asked for the last successful run of \(md(run.runbook)) on \(md(run.environment)) and there is none before this one."
            data.notMeasuredNotes.append("No successful run to compare with, so \"before\" is \(ReportData.notMeasured).")
        case .run(let b):
            data.baselineId = b.run.id
            baselineRunId = b.run.id
            let release = b.run.params["release"] ?? b.run.params["version"]
            data.baselineLine = "Baseline run `\(b.run.id)` of \(md(b.run.runbook)) on \(md(b.run.environment)), started \(iso.string(from: b.run.startedAt)), ended **\(FigureFormat.words(b.run.status))**"
                + (release.map { ", release \(md($0))" } ?? ", release not recorded") + "."
            var byKey: [LoadSection.Key: (MeasurementRecord, StepRecord?, LoadResult)] = [:]
            for entry in LoadSection.loads(b.measurements, steps: b.steps) { byKey[LoadSection.key(entry.0, entry.1)] = entry }
            baselineLoads = byKey
        }

        // Every load test, its own section.
        let loads = LoadSection.loads(input.measurements, steps: input.steps)
        for (m, step, result) in loads {
            var section = LoadSection.build(m, step: step, result: result, gates: gates, baseline: baselineLoads, baselineRun: baselineRunId)
            if let stem = input.chartStem { section.chart = "\(stem)-load-\(data.loadSections.count + 1).svg" }
            data.loadSections.append(section)
            let o = result.overall, l = LoadSection.latency(o)
            let verdicts = section.thresholds.map { $0.cells[4] }
            let verdict = verdicts.isEmpty ? "no thresholds"
                : "\(verdicts.filter { $0.hasPrefix("✅") }.count) of \(verdicts.count) passed"
            data.loadTests.append(ReportData.Row(cells: [section.title, String(o.count), String(format: "%.1f", o.rps), l.ms(\.p50),
                                                         l.ms(\.p95), l.ms(\.p99), LoadSection.successRate(o), verdict]))
            data.summary.append(String(format: "Load test %@: %d requests at %.1f req/s, p95 %@, success rate %@.", md(section.title),
                                       o.count, o.rps, l.ms(\.p95), LoadSection.successRate(o)))
        }
        if loads.isEmpty {
            data.summary.append("No load test ran: latency and throughput are \(ReportData.notMeasured).")
            data.notMeasuredNotes.append("Latency percentiles, throughput and error rate under load: no benchmark step ran in this run.")
        }

        // What failed: the run's summary, every step run that failed (ignored ones too).
        if let failure = run.failureSummary, run.status != .succeeded { data.failures.append(md(failure)) }
        for s in input.steps {
            let took = s.endedAt.map { FigureFormat.seconds($0.timeIntervalSince(s.startedAt)) } ?? "unfinished"
            data.timeline.append(ReportData.Row(cells: [String(s.sequence), s.phase.rawValue, s.batch.map(String.init) ?? "—", s.host ?? "this machine",
                                                        s.name, s.isRollbackDecision ? "began" : FigureFormat.words(s.status), took]))
            if s.phase == .main, [.failed, .timedOut, .inconclusive, .ignoredFailure].contains(s.status) {
                data.failures.append(md("\(s.name) on \(s.host ?? "this machine")\(s.batch.map { " (batch \($0))" } ?? ""): \(FigureFormat.words(s.status))\(s.message.map { " — \($0)" } ?? "")"))
            }
            if s.isRollbackDecision {
                data.undone.append(md("rollback began\(s.message.map { ": \($0)" } ?? "")"))
            } else if s.phase == .undo {
                let line = md("\(s.name) on \(s.host ?? "this machine"): \(FigureFormat.words(s.status))\(s.message.map { " — \($0)" } ?? "")")
                data.undone.append(line)
                // A failed undo is a failure of the run as much as a failed step: it is listed with them.
                if [.failed, .timedOut].contains(s.status) { data.failures.append(line) }
            }
        }
        let failedGates = c.failed + c.errors
        if failedGates > 0 {
            data.failures.append("\(failedGates) gate evaluation\(failedGates == 1 ? "" : "s") failed\(c.ignored > 0 ? " (\(c.ignored) ignored under ignore_failure)" : ""): see Gate evaluations.")
        }

        // Other evidence worth keeping: backups.
        for m in input.measurements where m.measurementKind == .backup {
            let backup = MarshalCore.Evidence.decode(BackupEvidence.self, from: m.payloadJSON)
            let path = backup?.path ?? m.name
            var line = "Backup \(md(path))\(m.host.map { " on \(md($0))" } ?? ""): \(m.value.map { FigureFormat.bytes($0) } ?? "size \(ReportData.notMeasured)")"
            if let value = m.value, value >= 10_000 { line += " (\(Int(value)) bytes)" }
            line += backup.map { ", sha256 \(md($0.sha256))" } ?? ", sha256 not recorded"
            data.evidence.append(line)
        }
        // Query times (sql steps): the server's own time when EXPLAIN ANALYZE measured it, and
        // the client's round trip, per step in journal order, so a before/after pair reads as one.
        let stepsBySequence = Dictionary(input.steps.map { ($0.sequence, $0) }, uniquingKeysWith: { _, last in last })
        for m in input.measurements where m.measurementKind == .queryTime {
            let times = QueryTimeEvidence.decode(m.payloadJSON)
            let step = m.stepSequence.flatMap { stepsBySequence[$0] }
            var line = "Query time\(step.map { " of \(md($0.name))" } ?? "")\(m.host.map { " on \(md($0))" } ?? ""): "
            if let execution = times?.execution_time {
                line += "server execution \(FigureFormat.ms(execution))"
                if let planning = times?.planning_time { line += " (planning \(FigureFormat.ms(planning)))" }
                line += ", round trip \(times?.round_trip.map(FigureFormat.ms) ?? ReportData.notMeasured)"
            } else {
                line += "round trip \(times?.round_trip.map(FigureFormat.ms) ?? m.value.map(FigureFormat.ms) ?? ReportData.notMeasured) (server time not measured: no `timing: explain`)"
            }
            data.evidence.append(line + " — `\(md(m.name))`")
        }
        return data
    }

    static func groupTitle(_ g: GateEvaluation) -> String {
        guard let s = g.step else { return "Outside any step" }
        var title = "Step \(s.sequence): \(md(s.name))"
        if let batch = s.batch { title += ", batch \(batch)" }
        title += ", on \(md(s.host ?? "this machine"))"
        if s.status == .ignoredFailure { title += " (ignore_failure)" }
        return title
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
}

/// A `query_time` measurement's payload, in seconds.
struct QueryTimeEvidence: Decodable {
    var round_trip: Double?
    var execution_time: Double?
    var planning_time: Double?

    static func decode(_ json: String?) -> QueryTimeEvidence? {
        guard let json else { return nil }
        return try? JSONDecoder().decode(QueryTimeEvidence.self, from: Data(json.utf8))
    }
}
