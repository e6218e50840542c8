import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import MarshalCore
@testable import MarshalReport
import Testing

/// The results document: every figure from the journal, "not measured" where nothing was.
@Suite("Results document")
struct ReportTests {
    static let templates = ReportFixtures.templates
    let f = ReportFixtures()

    @Test("Without a load test or a baseline every load figure reads \"not measured\", never a number")
    func notMeasured() throws {
        let text = try f.render(.init(run: f.run("r"), steps: [], measurements: []))
        #expect(text.contains("Latency, throughput and per-endpoint figures: not measured (no load test in this run)."))
        #expect(text.contains("No load test ran: latency and throughput are not measured."))
        #expect(!text.contains("req/s"))
        #expect(text.contains("Nothing failed."))
    }

    @Test("Issue 14: two load tests with thresholds of the same names; A's p95 < 1us fails under ignore_failure — both tests' thresholds appear, A's failure is counted, \"Nothing failed\" is not printed")
    func twoLoadTestsSameThresholdNames() throws {
        let steps = [f.step(1, id: "load-a", name: "Load test A", status: .ignoredFailure), f.step(2, id: "load-b", name: "Load test B")]
        let measurements = [
            f.benchmark("r", sequence: 1, f.load(p95: 0.094, count: 1000)),
            f.threshold("r", sequence: 1, expectation: "p95 < 1us", value: 0.094, passed: false),
            f.threshold("r", sequence: 1, metric: "error_rate", expectation: "error_rate < 1%", value: 0, passed: true, unit: "ratio"),
            f.benchmark("r", sequence: 2, f.load(p95: 0.058, count: 250, errors: 5)),
            f.threshold("r", sequence: 2, expectation: "p95 < 500ms", value: 0.058, passed: true),
            f.threshold("r", sequence: 2, metric: "error_rate", expectation: "error_rate < 1%", value: 0.02, passed: false, unit: "ratio"),
        ]
        let data = ReportBuilder.build(.init(run: f.run("r"), steps: steps, measurements: measurements))
        #expect(data.counts.gates == 4 && data.counts.passed == 2 && data.counts.failed == 2 && data.counts.ignored == 1)
        #expect(data.counts.stepsIgnored == 1 && data.counts.stepsSucceeded == 1)
        let text = try f.render(.init(run: f.run("r"), steps: steps, measurements: measurements))
        #expect(text.contains("### Step 1: Load test A, on this machine (ignore_failure)"), "\(text)")
        #expect(text.contains("| load: p95 | p95 < 1us | 94 ms | 94000× the limit | — | ❌ failed (ignored: ignore\\_failure) |"), "\(text)")
        #expect(text.contains("| load: error\\_rate | error\\_rate < 1% | 0.00% | 100% better | — | ✅ passed |"))
        #expect(text.contains("| load: p95 | p95 < 500ms | 58 ms | 88% better | — | ✅ passed |"))
        #expect(text.contains("| load: error\\_rate | error\\_rate < 1% | 2.00% | 100% worse | — | ❌ failed |"))
        #expect(text.contains("4 gate evaluations: 2 passed, 2 failed (1 of them ignored under ignore_failure), 0 inconclusive."))
        #expect(text.contains("2 step runs: 1 succeeded, 1 failed (1 of them ignored under ignore_failure), 0 skipped."))
        #expect(!text.contains("Nothing failed"))
        #expect(text.contains("- ❌ Load test A on this machine: failed (ignored: ignore\\_failure)"))
        #expect(text.contains("**Hosts** (1): this machine"), "a local run ran against one machine, not 0 hosts")
        // Each test's thresholds are in its own section, never merged by name.
        let a = try #require(text.range(of: "## Load test: Load test A")), b = try #require(text.range(of: "## Load test: Load test B"))
        let sectionA = String(text[a.upperBound..<b.lowerBound])
        #expect(sectionA.contains("| load: p95 | p95 < 1us | 94 ms |") && !sectionA.contains("58 ms | 88% better"))
    }

    @Test("Three load tests (two steps, one repeated per batch) against a baseline with the same steps: each has its section, each before/after pairs the same step and batch")
    func threeLoadTestsPairedWithBaseline() throws {
        let steps = [f.step(3, id: "smoke", name: "Smoke load", batch: 1), f.step(5, id: "main", name: "Main load", batch: 1),
                     f.step(8, id: "smoke", name: "Smoke load", batch: 2)]
        let measurements = [f.benchmark("r", sequence: 3, f.load(p95: 0.030, count: 100)), f.benchmark("r", sequence: 5, f.load(p95: 0.022, count: 1000)),
                            f.benchmark("r", sequence: 8, f.load(p95: 0.040, count: 120))]
        // The baseline ran the same steps in another order, with other sequence numbers.
        let baseSteps = [f.step(2, run: "b", id: "main", name: "Main load", batch: 1), f.step(4, run: "b", id: "smoke", name: "Smoke load", batch: 2),
                         f.step(6, run: "b", id: "smoke", name: "Smoke load", batch: 1)]
        let baseMeasurements = [f.benchmark("b", sequence: 2, f.load(p95: 0.094, count: 900)), f.benchmark("b", sequence: 4, f.load(p95: 0.080, count: 110)),
                                f.benchmark("b", sequence: 6, f.load(p95: 0.072, count: 90))]
        let baseline = ReportBuilder.Evidence(run: f.run("b", status: .rolledBack, params: ["version": "v41"]), steps: baseSteps, measurements: baseMeasurements)
        let data = ReportBuilder.build(.init(run: f.run("r"), steps: steps, measurements: measurements, baseline: .run(baseline)))
        #expect(data.loadSections.count == 3)
        let p95 = data.loadSections.map { $0.comparison.first { $0.cells[0] == "p95 latency" }!.cells }
        #expect(p95[0] == ["p95 latency", "72 ms", "30 ms", "-58.3%"], "smoke batch 1 against the baseline's smoke batch 1")
        #expect(p95[1] == ["p95 latency", "94 ms", "22 ms", "-76.6%"], "main against main")
        #expect(p95[2] == ["p95 latency", "80 ms", "40 ms", "-50.0%"], "smoke batch 2 against smoke batch 2")
        let text = try f.render(.init(run: f.run("r"), steps: steps, measurements: measurements, baseline: .run(baseline)))
        for title in ["## Load test: Smoke load (id smoke), batch 1", "## Load test: Main load (id main), batch 1", "## Load test: Smoke load (id smoke), batch 2"] {
            #expect(text.contains(title), "\(title)\n\(text)")
        }
        #expect(text.contains("Before: Smoke load (id smoke), batch 2 in run `b`."))
        #expect(text.contains("Baseline run `b` of rollout on prod, started 2026-09-21T14:13:20Z, ended **rolled back**, release v41."), "\(text)")
        #expect(text.contains("| success rate | 100.00% | 100.00% | +0.0% |"), "an overall success-rate row")
        #expect(text.contains("| all endpoints | 1000 |"), "an overall row in each per-endpoint table")
        #expect(!text.contains("rolled_back"))
    }

    @Test("last-success asked and none exists: \"no successful run to compare with\", not \"no baseline was given\"")
    func noSuccessfulRun() throws {
        let text = try f.render(.init(run: f.run("r"), steps: [f.step(1)], measurements: [f.benchmark("r", sequence: 1, f.load(p95: 0.1, count: 10))],
                                      baseline: .noSuccessfulRun))
        #expect(text.contains("No successful run to compare with"))
        #expect(!text.contains("No baseline run was given"))
    }

    @Test("Margins: how far each continuous value is from a plain limit, either way round; none for counts or other expectations")
    func margins() {
        func margin(_ expectation: String, _ value: Double?, unit: String? = nil) -> String {
            GateEvaluation.margin(MeasurementRecord(runId: "r", kind: "threshold", name: "x", outcome: .passed, expectation: expectation,
                                                    value: value, unit: unit, recordedAt: f.t0))
        }
        #expect(margin("p95 < 500ms", 0.170, unit: "s") == "66% better")
        #expect(margin("p95 < 500ms", 0.601, unit: "s") == "20% worse")
        #expect(margin("value > 70%", 0.91) == "30% better")
        #expect(margin("0.5 > p95", 0.25, unit: "s") == "50% better")
        #expect(margin("value >= 5", 5) == "—", "a count")
        #expect(margin("value >= 2", 3) == "—", "3 rows against >= 2 is not 50% better")
        #expect(margin("requests > 100", 150) == "—")
        #expect(margin("rps >= 50", 50, unit: "req/s") == "at the limit")
        #expect(margin("status in [200]", 200) == "—")
        #expect(margin("error_rate < 1%", nil) == "—")
    }

    @Test("Display: a fraction compared with a percentage prints as one; a failed string gate shows its value; backups are path, size, sha256; status in words")
    func display() throws {
        let cache = MeasurementRecord(runId: "r", stepSequence: 1, kind: "metric", name: "sum(rate(cache_hits[5m])) / sum(rate(cache_requests[5m]))",
                                      outcome: .passed, expectation: "value > 70%", value: 0.998, recordedAt: f.t0)
        let version = MeasurementRecord(runId: "r", stepSequence: 2, host: "db1", kind: "sql", name: "SELECT version FROM schema_info", outcome: .failed,
                                        expectation: "value == \"v42\"", payloadJSON: #"{"columns":["version"],"rows":[["v41"]]}"#, recordedAt: f.t0)
        let backup = MeasurementRecord(runId: "r", stepSequence: 3, host: "db1", kind: "backup", name: "/var/backups/app.dump", outcome: .passed,
                                       value: 52_428_800, unit: "bytes", payloadJSON: #"{"path":"/var/backups/app.dump","sha256":"9f86d081884c7d65"}"#, recordedAt: f.t0)
        let steps = [f.step(1, name: "Cache hit rate", kind: "metric"), f.step(2, name: "Schema version", host: "db1", status: .failed, kind: "sql"),
                     f.step(3, name: "Backup", host: "db1", kind: "backup")]
        let text = try f.render(.init(run: f.run("r", status: .rolledBack), steps: steps, measurements: [cache, version, backup]))
        #expect(text.contains("| 99.80% | 43% better |"), "\(text)")
        #expect(text.contains("| sql: SELECT version FROM schema\\_info | value == \"v42\" | v41 | — | db1 | ❌ failed |"))
        #expect(text.contains("- Backup /var/backups/app.dump on db1: 52.4 MB (52428800 bytes), sha256 9f86d081884c7d65"))
        #expect(!text.contains("{\"path\""))
        #expect(text.contains("**Status**: ❌ rolled back") && text.contains("ended **rolled back**"))
        #expect(!text.contains("rolled_back") && !text.contains("rolledBack"))
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

    @Test("A health gate's achieved value is the answer and its time; an attempt with no answer shows its time only; each attempt is its own row")
    func healthAchieved() throws {
        let answered = MeasurementRecord(runId: "r", stepSequence: 1, host: "web1", kind: "health", name: "GET http://web1/api/health", outcome: .passed,
                                         expectation: "status in [200]", value: 0.00096, unit: "s",
                                         payloadJSON: #"{"attempt":1,"at":0.01,"status":200,"message":"ok"}"#, recordedAt: f.t0)
        var refused = answered
        refused.stepSequence = 2
        refused.host = "web2"
        refused.outcome = .failed
        refused.payloadJSON = #"{"attempt":1,"at":0.01,"status":null,"message":"refused"}"#
        let text = try f.render(.init(run: f.run("r"), steps: [], measurements: [answered, refused]))
        #expect(text.contains("| health: GET http://web1/api/health | status in [200] | HTTP 200 in 0.96 ms | — | web1 | ✅ passed |"), "\(text)")
        #expect(text.contains("| health: GET http://web1/api/health | status in [200] | 0.96 ms | — | web2 | ❌ failed |"))
    }

    @Test("A load test whose every request failed shows its latency as not measured, and no latency change against the baseline")
    func noAnswers() throws {
        var failed = f.load(p95: 0.2, count: 50)
        failed.overall.latency = .empty
        failed.overall.errors = ErrorCounts(connect: 50)
        failed.scenarios[0].latency = .empty
        failed.scenarios[0].errors = ErrorCounts(connect: 50)
        let baseline = ReportBuilder.Evidence(run: f.run("b"), steps: [f.step(2, run: "b", batch: 1)], measurements: [f.benchmark("b", sequence: 2, f.load(p95: 0.3, count: 100))])
        let text = try f.render(.init(run: f.run("r", status: .failed), steps: [f.step(3, batch: 1)],
                                      measurements: [f.benchmark("r", sequence: 3, failed)], baseline: .run(baseline)))
        #expect(text.contains("| p95 latency | 300 ms | not measured | — |"), "\(text)")
        #expect(text.contains("| diagram | 50 | not measured | not measured | not measured | not measured | not measured | 0.00% |"))
        #expect(text.contains("p95 not measured, success rate 0.00%"))
    }

    @Test("Percentiles come from the journaled HdrHistogram when the result kept one")
    func percentilesFromHistogram() {
        var stats = f.load(p95: 0.5, count: 100).overall
        stats.latencyHistogram = LatencyHistogram(buckets: [[10_000, 90], [20_000, 6], [40_000, 4]])
        let l = LoadSection.latency(stats)
        #expect(l.p50 == 0.010 && l.p95 == 0.020 && l.p99 == 0.040)
    }
}

@Suite("report --verify")
struct ReportVerifyTests {
    let f = ReportFixtures()

    @Test("A single hand-edited figure is named by section, row and column with both values; an untouched document passes")
    func handEdited() throws {
        let steps = [f.step(1, id: "main", name: "Main load")]
        let input = ReportBuilder.Input(run: f.run("r"), steps: steps, measurements: [
            f.benchmark("r", sequence: 1, f.load(p95: 0.094, count: 1000)), f.threshold("r", sequence: 1, value: 0.094, passed: true)])
        let text = try f.render(input)
        #expect(ReportVerifier.differences(document: text, recomputed: text).isEmpty)
        // p95 94 ms → 49 ms in the per-endpoint table only.
        let edited = text.replacingOccurrences(of: "| diagram | 1000 | 1.00 ms | 47 ms | 31 ms | 94 ms |", with: "| diagram | 1000 | 1.00 ms | 47 ms | 31 ms | 49 ms |")
        #expect(edited != text)
        let d = ReportVerifier.differences(document: edited, recomputed: text)
        #expect(d.count == 1)
        #expect(d.first?.description.hasPrefix("Per-endpoint latency › diagram › p95") == true, "\(d)")
        #expect(d.first?.document == "49 ms" && d.first?.journal == "94 ms")
        // A figure in a sentence.
        let sentence = text.replacingOccurrences(of: "1000 requests at 100.0 req/s", with: "1000 requests at 120.0 req/s")
        let s = ReportVerifier.differences(document: sentence, recomputed: text)
        #expect(s.map(\.document) == ["120.0 req/s"] && s.map(\.journal) == ["100.0 req/s"], "\(s)")
    }
}

@Suite("Charts")
struct ChartTests {
    let f = ReportFixtures()

    @Test("The sparkline scales from 0 to the highest value and averages down to its width")
    func sparkline() {
        #expect(Sparkline.text([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█")
        #expect(Sparkline.text([0, 0]) == "▁▁")
        #expect(Sparkline.text(Array(repeating: 5, count: 600), width: 60).count == 60)
        #expect(Sparkline.text([]) == "")
    }

    @Test("The SVG has both axes with units, the threshold's line, a mark for each second with errors, and escapes text")
    func svg() throws {
        let result = f.load(p95: 0.2, count: 100, errors: 3)
        let limits = [LoadChart.Limit(label: "p95 < 500ms", seconds: 0.5)]
        let svg = LoadChart.svg(title: "Load <main> & co", result: result, limits: limits)
        #expect(svg.contains("latency (ms)") && svg.contains("answers per second (req/s)") && svg.contains("(s)</text>"))
        #expect(svg.contains("threshold p95 &lt; 500ms"))
        #expect(svg.contains("Load &lt;main&gt; &amp; co"))
        #expect(svg.components(separatedBy: "<path d=").count - 1 == 1, "one second had errors")
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "well-formed XML: \(String(describing: parser.parserError))")
    }

    @Test("Percentile labels whose lines nearly coincide (p95 603 ms, p99 609 ms in the demo) do not overlap: each starts at least one label width after the previous")
    func percentileLabelsApart() throws {
        let result = f.load(p95: 0.603, count: 100, errors: 0)
        let svg = LoadChart.svg(title: "close percentiles", result: result, limits: [])
        let xs = try ["p50", "p95", "p99"].map { name -> Double in
            let line = try #require(svg.split(separator: "\n").first { $0.contains(">\(name) ") && $0.hasPrefix("<text") })
            let x = try #require(line.split(separator: "\"").dropFirst().first.flatMap { Double($0) })
            return x
        }
        #expect(zip(xs, xs.dropFirst()).allSatisfy { $1 - $0 >= 100 }, "label x positions \(xs)")
    }
}

@Suite("Results document — text from hosts")
struct ReportEscapingTests {
    let f = ReportFixtures()

    @Test("A step message, host name, SQL value and backup path from a host are inert in the document (MarkdownText), and the document still verifies")
    func inert() throws {
        var failed = f.step(1, name: "migrate", host: "web<img src=x>", status: .failed, kind: "shell")
        failed.message = "<script>alert(1)</script> | **bold** [x](http://evil)"
        let sql = MeasurementRecord(runId: "r", stepSequence: 1, host: "web<img src=x>", kind: "sql", name: "SELECT a|b", outcome: .failed,
                                    expectation: "value == \"ok\"", payloadJSON: #"{"rows":[["<b>|x"]]}"#, recordedAt: f.t0)
        let backup = MeasurementRecord(runId: "r", stepSequence: 1, kind: "backup", name: "/x/[a](b).dump", outcome: .passed, value: 10, unit: "bytes",
                                       payloadJSON: #"{"path":"/x/[a](b).dump","sha256":"*ab*"}"#, recordedAt: f.t0)
        let text = try f.render(.init(run: f.run("r", status: .failed), steps: [failed], measurements: [sql, backup]))
        #expect(!text.contains("<script>") && !text.contains("<img") && !text.contains("<b>"), "\(text)")
        #expect(!text.contains("[x](http://evil)") && !text.contains("[a](b)"))
        #expect(text.contains("| sql: SELECT a\\|b |") && text.contains("&lt;b>\\|x"))
        #expect(text.contains("\\*\\*bold\\*\\*") && text.contains("sha256 \\*ab\\*"))
    }
}
