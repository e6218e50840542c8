import Foundation
import MarshalCore

/// A run's gate results as JUnit XML (`--junit FILE`), the format CI systems (GitLab, Jenkins,
/// GitHub test reporters) read: one test suite per run, one test case per gate evaluated on a step
/// record, plus one per step that failed without a failing gate (a shell step's exit status, an
/// undo that failed), so CI never shows green for a failed run.
///
/// A gate re-checked within its step (`within:`, `retries`, a soak's intervals) is one test case
/// judged by its last evaluation; the number of evaluations is kept as a property. Inconclusive
/// gates (no data) are failures when they failed their step (`on_no_data: fail`), else skipped.
/// Everything comes from the journal, where secrets are already masked.
public enum JUnitReport {
    public static func render(run: RunRecord, steps: [StepRecord], measurements: [MeasurementRecord]) -> String {
        let stepsBySequence = Dictionary(steps.map { ($0.sequence, $0) }, uniquingKeysWith: { _, last in last })
        var cases: [Case] = []
        var indexByKey: [String: Int] = [:]
        var stepsWithFailingGate = Set<Int>()
        for m in measurements {
            guard let outcome = m.outcome else { continue }
            let step = m.stepSequence.flatMap { stepsBySequence[$0] }
            let key = "\(m.stepSequence ?? -1)|\(m.host ?? "")|\(m.kind)|\(m.name)|\(m.expectation ?? "")"
            let measured = m.value.map { FigureFormat.value($0, unit: m.unit, metric: m.name) }
            let verdict = Self.verdict(outcome, measured: measured, expectation: m.expectation, stepFailed: step.map(failed) ?? false)
            if verdict.isFailure, let sequence = m.stepSequence { stepsWithFailingGate.insert(sequence) }
            // A gate's `label:` names the case when it has one: "Cache hit rate", not the PromQL.
            let label = Evidence.label(of: m.payloadJSON)
            let name = (label ?? (m.measurementKind == .threshold ? m.name : "\(m.kind) \(m.name)")) + (m.host.map { " on \($0)" } ?? "")
                + (m.expectation.map { ": \($0)" } ?? "")
            if let index = indexByKey[key] {
                cases[index].verdict = verdict
                cases[index].evaluations += 1
                cases[index].time = step.map(duration) ?? 0
            } else {
                indexByKey[key] = cases.count
                cases.append(Case(className: className(run, step), name: name, time: step.map(duration) ?? 0, verdict: verdict, evaluations: 1))
            }
        }
        for step in steps where failed(step) && !stepsWithFailingGate.contains(step.sequence) {
            let what = step.message ?? step.exitStatus.map { "exit status \($0)" } ?? step.status.rawValue
            let verdict: Verdict = step.phase == .undo ? .error(message: "undo failed: \(what)") : .failure(message: what)
            cases.append(Case(className: className(run, step), name: "step \(step.name) on \(step.host ?? "this machine")",
                              time: duration(step), verdict: verdict, evaluations: 1))
        }
        var properties = [("run_id", run.id), ("status", run.status.rawValue), ("environment", run.environment), ("operator", run.operatorName)]
        if let failure = run.failureSummary { properties.append(("failure", failure)) }
        return xml(suite: "\(run.runbook) on \(run.environment)", id: run.id, startedAt: run.startedAt,
                   seconds: run.endedAt.map { $0.timeIntervalSince(run.startedAt) } ?? 0, properties: properties, cases: cases)
    }

    /// `marshal bench --junit`: one test case per threshold, failed ones with their explanation
    /// (`p95 = 612ms; expected p95 < 500ms`).
    public static func render(benchOf url: String, startedAt: Date, seconds: Double,
                              thresholds: [(condition: String, passed: Bool, explanation: String)]) -> String {
        let cases = thresholds.map { t in
            Case(className: "bench", name: t.condition, time: seconds, verdict: t.passed ? .passed : .failure(message: t.explanation), evaluations: 1)
        }
        return xml(suite: "bench \(url)", id: "bench", startedAt: startedAt, seconds: seconds, properties: [("url", url)], cases: cases)
    }

    private struct Case {
        var className: String
        var name: String
        var time: Double
        var verdict: Verdict
        var evaluations: Int
    }

    private enum Verdict {
        case passed
        case failure(message: String)
        case error(message: String)
        case skipped(message: String)

        var isFailure: Bool {
            switch self {
            case .failure, .error: true
            case .passed, .skipped: false
            }
        }
    }

    private static func verdict(_ outcome: MeasurementRecord.Outcome, measured: String?, expectation: String?, stepFailed: Bool) -> Verdict {
        let detail = "measured \(measured ?? ReportData.notMeasured)\(expectation.map { "; expected \($0)" } ?? "")"
        switch outcome {
        case .passed: return .passed
        case .failed: return .failure(message: detail)
        case .error: return .error(message: "the check could not run; \(detail)")
        case .inconclusive:
            return stepFailed ? .failure(message: "inconclusive (no data) and on_no_data fails the gate") : .skipped(message: "inconclusive (no data)")
        }
    }

    private static func failed(_ step: StepRecord) -> Bool {
        [.failed, .timedOut, .inconclusive].contains(step.status)
    }

    private static func duration(_ step: StepRecord) -> Double {
        step.endedAt.map { max(0, $0.timeIntervalSince(step.startedAt)) } ?? 0
    }

    private static func className(_ run: RunRecord, _ step: StepRecord?) -> String {
        guard let step else { return run.runbook }
        let batch = step.batch.map { " (batch \($0))" } ?? ""
        return "\(run.runbook).\(step.phase == .main ? "" : "\(step.phase.rawValue).")\(step.name)\(batch)"
    }

    private static func xml(suite: String, id: String, startedAt: Date, seconds total: Double, properties: [(String, String)], cases: [Case]) -> String {
        let failures = cases.filter { if case .failure = $0.verdict { true } else { false } }.count
        let errors = cases.filter { if case .error = $0.verdict { true } else { false } }.count
        let skipped = cases.filter { if case .skipped = $0.verdict { true } else { false } }.count
        let iso = ISO8601DateFormatter()
        var out = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        out += #"<testsuites name="marshal" tests="\#(cases.count)" failures="\#(failures)" errors="\#(errors)" skipped="\#(skipped)" time="\#(seconds(total))">"# + "\n"
        out += #"  <testsuite name="\#(escape(suite))" id="\#(escape(id))" tests="\#(cases.count)" failures="\#(failures)" errors="\#(errors)" skipped="\#(skipped)" time="\#(seconds(total))" timestamp="\#(iso.string(from: startedAt))">"# + "\n"
        out += "    <properties>\n"
        for (name, value) in properties {
            out += #"      <property name="\#(name)" value="\#(escape(value))"/>"# + "\n"
        }
        out += "    </properties>\n"
        for c in cases {
            let open = #"    <testcase classname="\#(escape(c.className))" name="\#(escape(c.name))" time="\#(seconds(c.time))""#
            let evaluations = c.evaluations > 1 ? #"      <properties><property name="evaluations" value="\#(c.evaluations)"/></properties>"# + "\n" : ""
            switch c.verdict {
            case .passed where evaluations.isEmpty:
                out += open + "/>\n"
            case .passed:
                out += open + ">\n" + evaluations + "    </testcase>\n"
            case .failure(let message):
                out += open + ">\n" + evaluations + #"      <failure message="\#(escape(message))" type="gate"/>"# + "\n    </testcase>\n"
            case .error(let message):
                out += open + ">\n" + evaluations + #"      <error message="\#(escape(message))" type="error"/>"# + "\n    </testcase>\n"
            case .skipped(let message):
                out += open + ">\n" + evaluations + #"      <skipped message="\#(escape(message))"/>"# + "\n    </testcase>\n"
            }
        }
        out += "  </testsuite>\n</testsuites>\n"
        return out
    }

    private static func seconds(_ s: Double) -> String { String(format: "%.3f", s) }

    /// XML attribute text: the five entities escaped, control characters XML 1.0 forbids dropped.
    static func escape(_ text: String) -> String { xmlEscapes.apply(text) }
    static let xmlEscapes = EscapeTable(["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&apos;", "\n": "&#10;", "\t": "&#9;"]) { scalar in
        scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) ? "" : nil
    }
}
