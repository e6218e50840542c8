import Foundation
import MarshalCore

/// Everything a results document says, computed from journal evidence only. Every number here was
/// measured during a run; where nothing was measured the text is "not measured".
public struct ReportData: Sendable {
    public static let notMeasured = "not measured"

    public struct Row: Sendable { public var cells: [String] }

    /// The gate evaluations of one step run (one step on one host in one batch), in journal order.
    public struct GateGroup: Sendable {
        public var title: String
        public var rows: [Row]
    }

    public struct Counts: Sendable, Equatable {
        public var gates = 0, passed = 0, failed = 0, ignored = 0, inconclusive = 0, errors = 0
        public var stepRuns = 0, stepsSucceeded = 0, stepsFailed = 0, stepsIgnored = 0, stepsSkipped = 0, stepsInconclusive = 0, stepsUnfinished = 0
    }

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
    public var summary: [String] = []
    public var counts = Counts()
    /// Every gate evaluation, each once, in the same order as `gateGroups` lists them.
    public var gates: [GateEvaluation] = []
    public var gateGroups: [GateGroup] = []
    /// Reference 001's "Target achievement" rows, from labelled gates.
    public var targets: [Row] = []
    public var baselineId: String?
    public var baselineLine: String?
    public var loadSections: [LoadSection] = []
    /// Every load test of the run, one row each.
    public var loadTests: [Row] = []
    public var timeline: [Row] = []
    public var failures: [String] = []
    public var undone: [String] = []
    public var evidence: [String] = []
    public var notMeasuredNotes: [String] = []

    /// Stencil context: plain strings, arrays and dictionaries only.
    public var context: [String: Any] {
        func rows(_ r: [Row]) -> [[String]] { r.map(\.cells) }
        return [
            "title": title, "run_id": runId, "runbook": runbook, "environment": environment, "status": status,
            "status_icon": statusIcon, "operator": operatorName, "started": started, "ended": ended, "duration": duration,
            "params": params, "hosts": hosts.joined(separator: ", "), "host_count": hosts.count, "summary": summary,
            "gate_groups": gateGroups.map { ["title": $0.title, "rows": rows($0.rows)] as [String: Any] },
            "targets": rows(targets), "baseline_id": baselineId ?? "", "has_baseline": baselineId != nil, "baseline_line": baselineLine ?? "",
            "load_sections": loadSections.map { s -> [String: Any] in
                ["title": MarkdownText.escape(s.title), "phases": rows(s.phases), "endpoints": rows(s.endpoints), "thresholds": rows(s.thresholds),
                 "over_time": rows(s.overTime), "comparison": rows(s.comparison), "baseline_note": s.baselineNote,
                 "chart": s.chart ?? "", "sparkline": s.sparkline, "users": s.users]
            },
            "load_tests": rows(loadTests), "several_load_tests": loadTests.count > 1, "timeline": rows(timeline),
            "failures": failures, "nothing_failed": failures.isEmpty && counts.failed == 0 && counts.errors == 0 && counts.stepsFailed == 0 && counts.stepsIgnored == 0,
            "undone": undone, "evidence": evidence, "not_measured_notes": notMeasuredNotes,
        ]
    }
}
