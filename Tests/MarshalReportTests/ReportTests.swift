import Foundation
import MarshalCore
@testable import MarshalReport
import Testing

/// The results document: every figure from the journal, "not measured" where nothing was.
@Suite("Results document")
struct ReportTests {
    let t0 = Date(timeIntervalSince1970: 1_790_000_000)
    static let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Templates").path

    func run(_ id: String, status: RunRecord.Status = .succeeded) -> RunRecord {
        RunRecord(id: id, runbook: "rollout", runbookPath: "Runbooks/rollout.yml", environment: "prod", status: status,
                  startedAt: t0, endedAt: t0.addingTimeInterval(90), operatorName: "ana@ops", pid: 1)
    }

    func step(_ sequence: Int, batch: Int) -> StepRecord {
        StepRecord(runId: "r", sequence: sequence, stepIndex: 4, name: "Latency gate", kind: "benchmark", batch: batch,
                   status: .succeeded, startedAt: t0, endedAt: t0.addingTimeInterval(30))
    }

    func load(p95: Double, count: Int) -> LoadResult {
        let l = LatencySummary(count: count, min: 0.001, mean: p95 / 2, stdDev: 0.01, p50: p95 / 3, p75: p95 / 2, p90: p95 * 0.9,
                               p95: p95, p99: p95 * 1.1, p999: p95 * 1.2, max: p95 * 1.5)
        let stats = LoadStats(name: "diagram", count: count, errors: ErrorCounts(), dropped: 0, rps: Double(count) / 10, duration: 10,
                              latency: l, serviceTime: l)
        var overall = stats
        overall.name = "overall"
        return LoadResult(mode: "open", duration: 10, overall: overall, scenarios: [stats],
                          phases: [PhaseStats(index: 0, name: "warm-up", duration: 10, plannedRate: 10, plannedRampTo: nil, planned: count, sent: count,
                                              dropped: 0, achievedRate: Double(count) / 10)], perSecond: [])
    }

    func benchmark(_ runId: String, sequence: Int, _ result: LoadResult) -> MeasurementRecord {
        let json = String(decoding: try! JSONEncoder().encode(result), as: UTF8.self)
        return MeasurementRecord(runId: runId, stepSequence: sequence, kind: "benchmark", name: "http://app", value: result.overall.rps,
                                 unit: "req/s", payloadJSON: json, recordedAt: t0)
    }

    func threshold(_ runId: String, sequence: Int, p95: Double, passed: Bool) -> MeasurementRecord {
        MeasurementRecord(runId: runId, stepSequence: sequence, kind: "threshold", name: "p95", outcome: passed ? .passed : .failed,
                          expectation: "p95 < 500ms", value: p95, unit: "s", recordedAt: t0)
    }

    func render(_ input: ReportBuilder.Input) throws -> String {
        try ReportRenderer(searchPaths: [Self.templates]).render(ReportBuilder.build(input), template: "optimization-results")
    }

    @Test("Without a load test or a baseline every load figure reads \"not measured\", never a number")
    func notMeasured() throws {
        let text = try render(.init(run: run("r"), steps: [], measurements: []))
        #expect(text.contains("| p95 latency | not measured | not measured | — |"))
        #expect(text.contains("| throughput | not measured | not measured | — |"))
        #expect(text.contains("Per-endpoint latency: not measured (no load test in this run)."))
        #expect(text.contains("No load test ran: latency and throughput are not measured."))
        #expect(!text.contains("req/s"))
    }

    @Test("Every load test of the run is listed; the tables and before/after use the last one, against the baseline's last")
    func everyLoadTest() throws {
        let measurements = [
            benchmark("r", sequence: 3, load(p95: 0.2, count: 100)), threshold("r", sequence: 3, p95: 0.2, passed: true),
            benchmark("r", sequence: 7, load(p95: 0.6, count: 200)), threshold("r", sequence: 7, p95: 0.6, passed: false),
        ]
        let baseline = (run: run("b"), measurements: [benchmark("b", sequence: 2, load(p95: 0.3, count: 100))])
        let text = try render(.init(run: run("r", status: .failed), steps: [step(3, batch: 1), step(7, batch: 2)],
                                    measurements: measurements, baseline: baseline))
        #expect(text.contains("| Latency gate, batch 1 | 100 | 10.0 | 67 ms | 200 ms | 220 ms | 0.00% | ✅ all 1 passed |"), "\(text)")
        #expect(text.contains("| Latency gate, batch 2 | 200 | 20.0 | 200 ms | 600 ms | 660 ms | 0.00% | ❌ p95 < 500ms |"))
        #expect(text.contains("From the run's last load test: Latency gate, batch 2."))
        #expect(text.contains("| diagram | 200 |"))
        #expect(text.contains("| 1. warm-up | 10.0 s | 10.0 | 20.0 | 200 | 0 |"), "phases are named as in the runbook")
        #expect(text.contains("| p95 latency | 300 ms | 600 ms | +100.0% |"))
        #expect(text.contains("| p95 | p95 < 500ms | 600 ms | 20% worse | — | ❌ failed |"), "\(text)")
        #expect(text.contains("| p95 | p95 < 500ms | 200 ms | 60% better | — | ✅ passed |") == false, "one row per gate name: the last")
    }

    @Test("Margins: how far each measured value is from a plain limit, either way round; none for other expectations")
    func margins() {
        func margin(_ expectation: String, _ value: Double?) -> String {
            ReportBuilder.margin(MeasurementRecord(runId: "r", kind: "threshold", name: "x", outcome: .passed, expectation: expectation,
                                                   value: value, recordedAt: t0))
        }
        #expect(margin("p95 < 500ms", 0.170) == "66% better")
        #expect(margin("p95 < 500ms", 0.601) == "20% worse")
        #expect(margin("value > 70%", 0.91) == "30% better")
        #expect(margin("0.5 > p95", 0.25) == "50% better")
        #expect(margin("value >= 5", 5) == "at the limit")
        #expect(margin("status in [200]", 200) == "—")
        #expect(margin("value == 1", 1) == "—")
        #expect(margin("error_rate < 1%", nil) == "—")
    }

    @Test("A load test whose every request failed shows its latency as not measured, and no change against the baseline")
    func noAnswers() throws {
        var failed = load(p95: 0.2, count: 50)
        failed.overall.latency = .empty
        failed.overall.errors = ErrorCounts(connect: 50)
        failed.scenarios[0].latency = .empty
        let baseline = (run: run("b"), measurements: [benchmark("b", sequence: 2, load(p95: 0.3, count: 100))])
        let text = try render(.init(run: run("r", status: .failed), steps: [step(3, batch: 1)],
                                    measurements: [benchmark("r", sequence: 3, failed)], baseline: baseline))
        #expect(text.contains("| p95 latency | 300 ms | not measured | — |"), "\(text)")
        #expect(text.contains("| diagram | 50 | not measured | not measured | not measured | not measured | not measured |"))
        #expect(text.contains("p95 not measured, error rate 100.00%"))
    }

    @Test("Over time: the per-second series in windows giving at most 12 rows; a window with no answer says not measured")
    func overTime() {
        var seconds: [SecondStats] = []
        for i in 0..<25 {
            let last = i == 24
            let slowest: Double = last ? 0 : 0.1 + Double(i) / 1000
            seconds.append(SecondStats(second: i, sent: 10, completed: last ? 0 : 10, errors: i == 7 ? 3 : 0, dropped: 0, maxLatency: slowest))
        }
        let rows = ReportBuilder.overTime(seconds).map(\.cells)
        #expect(rows.count == 5, "25 s in windows of 5 s")
        #expect(rows[0] == ["0–5 s", "50", "50", "0", "0.00%", "0", "104 ms"])
        #expect(rows[1] == ["5–10 s", "50", "50", "3", "6.00%", "0", "109 ms"])
        #expect(rows[4] == ["20–25 s", "50", "40", "0", "0.00%", "0", "123 ms"])
        let silent = ReportBuilder.overTime([SecondStats(second: 0, sent: 5, completed: 0, errors: 0, dropped: 5, maxLatency: 0)]).map(\.cells)
        #expect(silent == [["0 s", "5", "0", "0", "not measured", "5", "not measured"]])
        #expect(ReportBuilder.overTime((0..<1200).map { SecondStats(second: $0, sent: 1, completed: 1, errors: 0, dropped: 0, maxLatency: 0.01) }).count == 10,
                "20 minutes in windows of 2 minutes")
    }

    @Test("A health gate's achieved value is the answer and its time; an attempt with no answer shows its time only")
    func healthAchieved() throws {
        let answered = MeasurementRecord(runId: "r", stepSequence: 1, host: "web1", kind: "health", name: "GET http://web1/api/health", outcome: .passed,
                                         expectation: "status in [200]", value: 0.00096, unit: "s",
                                         payloadJSON: #"{"attempt":1,"at":0.01,"status":200,"message":"ok"}"#, recordedAt: t0)
        var refused = answered
        refused.host = "web2"
        refused.outcome = .failed
        refused.payloadJSON = #"{"attempt":1,"at":0.01,"status":null,"message":"refused"}"#
        let text = try render(.init(run: run("r"), steps: [], measurements: [answered, refused]))
        #expect(text.contains("| health: GET http://web1/api/health | status in [200] | HTTP 200 in 0.96 ms | — | web1 | ✅ passed |"), "\(text)")
        #expect(text.contains("| health: GET http://web1/api/health | status in [200] | 0.96 ms | — | web2 | ❌ failed |"))
    }

    @Test("One load test: no list of load tests and no note on which one the tables show")
    func singleLoadTest() throws {
        let text = try render(.init(run: run("r"), steps: [step(3, batch: 1)],
                                    measurements: [benchmark("r", sequence: 3, load(p95: 0.2, count: 100))]))
        #expect(!text.contains("Every load test in this run"))
        #expect(!text.contains("From the run's last load test"))
        #expect(text.contains("| p95 latency | not measured | 200 ms | — |"))
    }
}
