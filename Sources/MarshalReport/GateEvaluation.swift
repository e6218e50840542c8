import Foundation
import MarshalCore

/// One check of one gate, exactly as the journal recorded it: never merged with another of the
/// same name (two load tests both have a `p95`; a health gate retried records each attempt).
public struct GateEvaluation: Sendable {
    public enum Verdict: String, Sendable, CaseIterable {
        case passed, failed, failedIgnored, inconclusive, error

        public var text: String {
            switch self {
            case .passed: "✅ passed"
            case .failed: "❌ failed"
            case .failedIgnored: "❌ failed (ignored: ignore_failure)"
            case .inconclusive: "⚠️ inconclusive (no data)"
            case .error: "❌ error (the check could not run)"
            }
        }

        public var isFailure: Bool { self == .failed || self == .failedIgnored || self == .error }
    }


    public var measurement: MeasurementRecord
    public var step: StepRecord?
    public var verdict: Verdict
    /// What the gate measures: its `label:` when it has one, else its kind and text.
    public var title: String
    public var achieved: String
    public var margin: String

    /// The `label:` the gate had in the runbook, as journaled with its measurement.
    public static func label(of m: MeasurementRecord) -> String? { Evidence.label(of: m.payloadJSON) }

    public static func isGate(_ m: MeasurementRecord) -> Bool { m.outcome != nil && m.measurementKind?.isGate == true }

    /// Every gate evaluation of a run, in journal order.
    public static func all(_ measurements: [MeasurementRecord], steps: [StepRecord]) -> [GateEvaluation] {
        let bySequence = Dictionary(steps.map { ($0.sequence, $0) }, uniquingKeysWith: { _, last in last })
        return measurements.filter(isGate).map { m in
            let step = m.stepSequence.flatMap { bySequence[$0] }
            return GateEvaluation(measurement: m, step: step, verdict: verdict(m, step: step), title: title(m),
                                  achieved: achieved(m, step: step), margin: margin(m))
        }
    }

    static func verdict(_ m: MeasurementRecord, step: StepRecord?) -> Verdict {
        switch m.outcome {
        case .passed?: return .passed
        case .inconclusive?: return .inconclusive
        case .error?: return .error
        case .failed?, nil: return step?.status == .ignoredFailure ? .failedIgnored : .failed
        }
    }

    static func title(_ m: MeasurementRecord) -> String {
        if let label = Evidence.label(of: m.payloadJSON), !label.isEmpty { return label }
        return m.measurementKind == .threshold ? "load: \(m.name)" : "\(m.kind): \(m.name)"
    }

    /// The measured value in the unit of its expectation; for an HTTP gate the answer and its
    /// time; for a value that is not a number (an SQL string) the value itself.
    static func achieved(_ m: MeasurementRecord, step: StepRecord?) -> String {
        if m.measurementKind == .health || m.measurementKind == .http,
           let status = Evidence.decode(HTTPAttemptEvidence.self, from: m.payloadJSON)?.status {
            return "HTTP \(status)" + (m.value.map { " in \(FigureFormat.ms($0))" } ?? "")
        }
        if let value = m.value { return FigureFormat.value(value, unit: m.unit, metric: m.name, expectation: m.expectation) }
        if m.measurementKind == .sql, let first = Evidence.decode(SQLResultEvidence.self, from: m.payloadJSON)?.firstCell { return first }
        if m.measurementKind == .probe, let step, let line = step.stdout.split(separator: "\n").first(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            return "output: \(line.trimmingCharacters(in: .whitespaces).prefix(80))"
        }
        return ReportData.notMeasured
    }

    /// How far a measured value is from a plain limit, as the reports people wrote by hand put it:
    /// "66% better" (p95 170 ms against < 500 ms), "20% worse" (601 ms against < 500 ms). "—" when
    /// the expectation is not a plain bound, nothing was measured, the limit is 0, or the value
    /// is a count (`value >= 2` on 3 rows is not "50% better").
    static func margin(_ m: MeasurementRecord) -> String {
        guard let text = m.expectation, let value = m.value, isContinuous(m),
              let expression = try? Expression.parse(text, at: SourceLocation(file: "journal", line: 1, column: 1)),
              let bound = expression.bound, bound.limit != 0 else { return "—" }
        let better = bound.isUpper ? (bound.limit - value) / abs(bound.limit) : (value - bound.limit) / abs(bound.limit)
        if better == 0 { return "at the limit" }
        // 94 ms against `< 1us` is not "9399900% worse": past ten times the limit, say so.
        if better < -9, bound.limit > 0, value > 0 {
            let times = bound.isUpper ? value / bound.limit : bound.limit / value
            return String(format: "%.0f× the limit", times)
        }
        return String(format: "%.0f%% %@", abs(better) * 100, better > 0 ? "better" : "worse")
    }

    /// A duration, a rate, a fraction or a size; not a count of rows, requests or errors.
    static func isContinuous(_ m: MeasurementRecord) -> Bool {
        if let unit = m.unit { return ["s", "ms", "ratio", "req/s", "bytes", "%"].contains(unit) }
        guard let text = m.expectation else { return false }
        return text.contains("%") || text.range(of: #"[0-9](us|ms|s|m)\b"#, options: .regularExpression) != nil
    }
}
