import Foundation
import MarshalCore

/// The "Targets" table of the documents release managers write by hand (reference 001's Target
/// Achievement Summary), filled from gates that carry a `label:`. Once a run labels any gate,
/// the objectives that document always shows are listed too, "not measured" with the reason
/// when no labelled gate measured them.
enum Targets {
    /// Reference 001's objectives, in its order.
    static let objectives = ["p95 latency", "Success rate", "Error rate", "Cache hit rate", "Database query time", "Concurrent users"]

    static func rows(_ gates: [GateEvaluation]) -> [ReportData.Row] {
        // One row per labelled gate per step run: a retried gate's last attempt is its verdict.
        var order: [String] = []
        var last: [String: GateEvaluation] = [:]
        for g in gates {
            guard let label = Evidence.label(of: g.measurement.payloadJSON) else { continue }
            let key = "\(g.measurement.stepSequence ?? -1)|\(g.measurement.host ?? "")|\(g.measurement.kind)|\(g.measurement.name)|\(label)"
            if last[key] == nil { order.append(key) }
            last[key] = g
        }
        guard !order.isEmpty else { return [] }
        let labelled = order.compactMap { last[$0] }
        let labels = Set(labelled.map { $0.title.lowercased() })
        var rows = labelled.map { g in
            let where_ = g.step.map { s in " (\(s.name)\(s.batch.map { ", batch \($0)" } ?? "")\((g.measurement.host ?? s.host).map { ", \($0)" } ?? ""))" } ?? ""
            return ReportData.Row(cells: [g.title + where_, g.measurement.expectation ?? "—", g.achieved, g.margin, g.verdict.text])
        }
        for objective in objectives where !labels.contains(where: { $0.hasPrefix(objective.lowercased()) }) {
            rows.append(ReportData.Row(cells: [objective, "—", ReportData.notMeasured, "—",
                                               "⚠️ not measured: no gate in this run is labelled \"\(objective)\""]))
        }
        return rows
    }
}
