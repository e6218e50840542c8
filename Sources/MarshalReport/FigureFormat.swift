import Foundation
import MarshalCore

/// How figures read in documents and terminal output: milliseconds, percentages, rates, sizes.
public enum FigureFormat {
    public static func ms(_ seconds: Double) -> String { LatencySummary.milliseconds(seconds) }
    public static func percent(_ fraction: Double) -> String { String(format: "%.2f%%", fraction * 100) }
    public static func seconds(_ s: Double) -> String { s < 60 ? String(format: "%.1f s", s) : String(format: "%dm %02ds", Int(s) / 60, Int(s) % 60) }
    public static func bytes(_ b: Double) -> String {
        if b >= 1_000_000_000 { return String(format: "%.2f GB", b / 1_000_000_000) }
        if b >= 1_000_000 { return String(format: "%.1f MB", b / 1_000_000) }
        if b >= 10_000 { return String(format: "%.1f kB", b / 1000) }
        return String(format: "%.0f bytes", b)
    }

    /// A measured value in the unit its expectation speaks: a fraction compared with `> 70%`
    /// prints as a percentage, a duration in milliseconds.
    public static func value(_ v: Double, unit: String?, metric: String, expectation: String? = nil) -> String {
        if unit == nil, let expectation, expectation.contains("%") { return percent(v) }
        switch unit {
        case "s"?: return ms(v)
        case "ms"?: return ms(v / 1000)
        case "ratio"?: return percent(v)
        case "req/s"?: return String(format: "%.1f req/s", v)
        case "bytes"?: return bytes(v)
        default:
            let number = v.rounded() == v && abs(v) < 1e15 ? String(Int(v)) : String(format: "%.3f", v)
            return number + (unit.map { " \($0)" } ?? "")
        }
    }

    /// A run's or step's status as words in a sentence (the journal stores `rolled_back`, `timed_out`).
    public static func words(_ status: RunRecord.Status) -> String {
        switch status {
        case .rolledBack: "rolled back"
        default: status.rawValue
        }
    }

    public static func words(_ status: StepRecord.Status) -> String {
        switch status {
        case .timedOut: "timed out"
        case .ignoredFailure: "failed (ignored: ignore_failure)"
        case .started: "unfinished"
        case .paused: "paused for approval"
        default: status.rawValue
        }
    }
}
