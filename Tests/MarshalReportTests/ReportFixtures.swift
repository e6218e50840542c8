import Foundation
import Testing
import MarshalCore
@testable import MarshalReport

/// Journal records for the report tests, built the way the orchestrator writes them.
struct ReportFixtures {
    let t0 = Date(timeIntervalSince1970: 1_790_000_000)
    static let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Templates").path

    func run(_ id: String, status: RunRecord.Status = .succeeded, params: [String: String] = [:]) -> RunRecord {
        RunRecord(id: id, runbook: "rollout", runbookPath: "Runbooks/rollout.yml", environment: "prod", params: params, status: status,
                  startedAt: t0, endedAt: t0.addingTimeInterval(90), operatorName: "ana@ops", pid: 1)
    }

    func step(_ sequence: Int, run runId: String = "r", id: String? = nil, name: String = "Latency gate", batch: Int? = nil, host: String? = nil,
              status: StepRecord.Status = .succeeded, kind: String = "benchmark") -> StepRecord {
        StepRecord(runId: runId, sequence: sequence, stepIndex: 4, stepId: id, name: name, kind: kind, host: host, batch: batch,
                   status: status, startedAt: t0, endedAt: t0.addingTimeInterval(30))
    }

    func load(p95: Double, count: Int, errors: Int = 0, name: String = "diagram") -> LoadResult {
        let l = LatencySummary(count: count, min: 0.001, mean: p95 / 2, stdDev: 0.01, p50: p95 / 3, p75: p95 / 2, p90: p95 * 0.9,
                               p95: p95, p99: p95 * 1.1, p999: p95 * 1.2, max: p95 * 1.5)
        let stats = LoadStats(name: name, count: count, errors: ErrorCounts(status: errors), dropped: 0, rps: Double(count) / 10, duration: 10,
                              latency: l, serviceTime: l)
        var overall = stats
        overall.name = "overall"
        let perSecond = (0..<10).map { SecondStats(second: $0, sent: count / 10, completed: count / 10, errors: $0 == 4 ? errors : 0, dropped: 0, maxLatency: p95 * (1 + Double($0) / 20)) }
        return LoadResult(mode: "open", duration: 10, overall: overall, scenarios: [stats],
                          phases: [PhaseStats(index: 0, name: "warm-up", duration: 10, plannedRate: 10, plannedRampTo: nil, planned: count, sent: count,
                                              dropped: 0, achievedRate: Double(count) / 10)], perSecond: perSecond)
    }

    func benchmark(_ runId: String, sequence: Int, _ result: LoadResult) -> MeasurementRecord {
        let json = String(decoding: try! JSONEncoder().encode(result), as: UTF8.self)
        return MeasurementRecord(runId: runId, stepSequence: sequence, kind: "benchmark", name: "http://app", value: result.overall.rps,
                                 unit: "req/s", payloadJSON: json, recordedAt: t0)
    }

    func threshold(_ runId: String, sequence: Int, metric: String = "p95", expectation: String = "p95 < 500ms", value: Double,
                   passed: Bool, unit: String? = "s") -> MeasurementRecord {
        MeasurementRecord(runId: runId, stepSequence: sequence, kind: "threshold", name: metric, outcome: passed ? .passed : .failed,
                          expectation: expectation, value: value, unit: unit, recordedAt: t0)
    }

    /// The document, checked the way `marshal report --verify` checks one: rendered again from
    /// the same records, every figure must be the same.
    func render(_ input: ReportBuilder.Input, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> String {
        let text = try ReportRenderer(searchPaths: [Self.templates]).render(ReportBuilder.build(input), template: "optimization-results")
        let again = try ReportRenderer(searchPaths: [Self.templates]).render(ReportBuilder.build(input), template: "optimization-results")
        let differences = ReportVerifier.differences(document: text, recomputed: again)
        #expect(differences.isEmpty, "\(differences)", sourceLocation: sourceLocation)
        return text
    }
}
