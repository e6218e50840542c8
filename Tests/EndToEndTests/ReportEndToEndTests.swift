import Foundation
import MarshalTestSupport
import Testing

/// `marshal report` on a real run: two load tests against the gate app, the first one's
/// impossible `p95 < 1us` failing under ignore_failure.
@Suite("Results document of a real run", .serialized)
struct ReportEndToEndTests {
    @Test("issue 14: both load tests' thresholds are in the document, A's failure counted; --verify passes on it and names a hand-edited figure")
    func twoLoadTests() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let path = dir + "/two-loads.yml"
        CLI.write("""
        version: 1
        runbook: two-loads
        targets: all
        steps:
          - name: load A
            id: load_a
            ignore_failure: true
            benchmark:
              base_url: "\(app.url)"
              phases: [ { duration: 1s, rate: 40 } ]
              scenarios: [ { name: slow, get: /slow/2 } ]
              thresholds: { p95: "< 1us", error_rate: "< 1%" }
          - name: load B
            id: load_b
            benchmark:
              base_url: "\(app.url)"
              phases: [ { duration: 1s, rate: 40 } ]
              scenarios: [ { name: slow, get: /slow/2 } ]
              thresholds: { p95: "< 2s", error_rate: "< 1%" }
        on_failure: stop
        """, to: path)
        let run = try await CLI.run(["run", path, "-e", CLI.localEnvironment(dir, name: "reports"), "--state", dir + "/state"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let document = dir + "/results.md"
        let report = try await CLI.run(["report", "last", "--state", dir + "/state", "-o", document])
        #expect(report.status == 0, "\(report.stderr)")
        let text = try String(contentsOfFile: document, encoding: .utf8)
        #expect(text.contains("| load: p95 | p95 < 1us |") && text.contains("❌ failed (ignored: ignore\\_failure) |"), "\(text)")
        #expect(text.contains("| load: p95 | p95 < 2s |"))
        #expect(text.contains("4 gate evaluations: 3 passed, 1 failed (1 of them ignored under ignore_failure), 0 inconclusive."), "\(text)")
        #expect(!text.contains("Nothing failed"))
        #expect(text.contains("**Hosts** (1): this machine"), "the load tests ran from this machine, not on a host")
        #expect(text.contains("## Load test: load A (id load\\_a)") && text.contains("## Load test: load B (id load\\_b)"))

        let verified = try await CLI.run(["report", "last", "--state", dir + "/state", "--verify", document])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")

        // One figure changed by hand: the first per-endpoint request count.
        let row = try #require(text.split(separator: "\n").first { $0.hasPrefix("| slow | ") })
        let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        let edited = text.replacingOccurrences(of: String(row), with: String(row).replacingOccurrences(of: "| slow | \(cells[1]) |", with: "| slow | 4000 |"))
        #expect(edited != text)
        CLI.write(edited, to: document)
        let caught = try await CLI.run(["report", "last", "--state", dir + "/state", "--verify", document])
        #expect(caught.status == 1)
        #expect(caught.stderr.contains("1 figure differs") && caught.stderr.contains("› slow › Requests") && caught.stderr.contains("\"4000\""), "\(caught.stderr)")
    }

    @Test("each load test's SVG chart is written beside the document and linked from it; it renders offline in headless Chromium (axes with units, threshold line)")
    func chartInChromium() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let path = dir + "/chart.yml"
        // /fails-after/2 answers 500 from 2 s after its first request: errors in the later seconds.
        CLI.write("""
        version: 1
        runbook: chart
        targets: all
        steps:
          - name: load
            ignore_failure: true
            benchmark:
              base_url: "\(app.url)"
              phases: [ { name: warm-up, duration: 2s, rate: 20 }, { name: peak, duration: 3s, rate: 40 } ]
              scenarios: [ { name: slow, get: /slow/15 }, { name: flaky, get: /fails-after/2 } ]
              thresholds: { p95: "< 40ms" }
        on_failure: stop
        """, to: path)
        let run = try await CLI.run(["run", path, "-e", CLI.localEnvironment(dir, name: "charts"), "--state", dir + "/state"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let document = dir + "/results.md"
        let report = try await CLI.run(["report", "last", "--state", dir + "/state", "-o", document])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains("load, batch 1: answers per second "), "a sparkline for the terminal: \(report.stdout)")
        let text = try String(contentsOfFile: document, encoding: .utf8)
        #expect(text.contains("![Latency and request rate over time](results-load-1.svg)"), "\(text)")
        let svg = try String(contentsOfFile: dir + "/results-load-1.svg", encoding: .utf8)
        #expect(svg.contains("latency (ms)") && svg.contains("answers per second (req/s)") && svg.contains("time since the start of the load test (s)"))
        #expect(svg.contains("threshold p95 &lt; 40ms"))
        #expect(svg.contains("errors or dropped"))
        #expect(!svg.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "").contains("http"), "nothing fetched from a network")
        let verified = try await CLI.run(["report", "last", "--state", dir + "/state", "--verify", document])
        #expect(verified.status == 0, "\(verified.stderr)")

        // Headless Chromium (Debian package `chromium`), its own profile, no network needed.
        let png = dir + "/chart.png"
        let shot = try await Spawn.runAsync(["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(dir)/chromium",
                                             "--screenshot=\(png)", "--window-size=860,420", "file://\(dir)/results-load-1.svg"],
                                            environment: ["HOME": dir], timeout: 60)
        #expect(shot.status == 0, "\(shot.stderr)")
        let data = try #require(FileManager.default.contents(atPath: png))
        #expect(data.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG")
        #expect(data.count > 10_000, "a drawn picture, not a blank page: \(data.count) bytes")
        if let keep = ProcessInfo.processInfo.environment["MARSHAL_KEEP_CHART"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(atPath: png, toPath: keep)
            try? FileManager.default.removeItem(atPath: keep + ".svg")
            try FileManager.default.copyItem(atPath: dir + "/results-load-1.svg", toPath: keep + ".svg")
        }
    }

    @Test("label: on a gate and labels: on thresholds name them in the Targets section, in JUnit and in show; reference 001's other rows say not measured and why")
    func labelledTargets() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let path = dir + "/targets.yml"
        CLI.write("""
        version: 1
        runbook: targets
        targets: all
        steps:
          - name: healthy
            label: Service health
            health: { url: "\(app.url)/healthy-after/0", expect: 200, within: 5s }
          - name: load
            benchmark:
              base_url: "\(app.url)"
              phases: [ { duration: 1s, rate: 30 } ]
              scenarios: [ { name: slow, get: /slow/2 } ]
              thresholds: { p95: "< 2s", success_rate: "> 99%", error_rate: "< 1%" }
              labels: { p95: p95 latency, success_rate: Success rate, error_rate: Error rate }
        on_failure: stop
        """, to: path)
        let run = try await CLI.run(["run", path, "-e", CLI.localEnvironment(dir, name: "targets"), "--state", dir + "/state", "--junit", dir + "/junit.xml"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let document = dir + "/results.md"
        let report = try await CLI.run(["report", "last", "--state", dir + "/state", "-o", document])
        #expect(report.status == 0, "\(report.stderr)")
        let text = try String(contentsOfFile: document, encoding: .utf8)
        #expect(text.contains("## Targets"), "\(text)")
        #expect(text.contains("| p95 latency (load, batch 1) | p95 < 2s |"), "\(text)")
        #expect(text.contains("| Success rate (load, batch 1) | success\\_rate > 99% | 100.00% |"))
        #expect(text.contains("| Error rate (load, batch 1) | error\\_rate < 1% | 0.00% |"))
        #expect(text.contains("| Service health (healthy, batch 1, here) | status in [200] | HTTP 200"))
        for missing in ["Cache hit rate", "Database query time", "Concurrent users"] {
            #expect(text.contains("| \(missing) | — | not measured | — | ⚠️ not measured: no gate in this run is labelled \"\(missing)\" |"), "\(missing)")
        }
        let verified = try await CLI.run(["report", "last", "--state", dir + "/state", "--verify", document])
        #expect(verified.status == 0, "\(verified.stderr)")
        let junit = try String(contentsOfFile: dir + "/junit.xml", encoding: .utf8)
        #expect(junit.contains("name=\"p95 latency: p95 &lt; 2s\"") && junit.contains("name=\"Service health on here: status in [200]\""), "\(junit)")

        let shown = try await CLI.run(["show", "last", "--state", dir + "/state"])
        #expect(shown.stdout.contains("measured p95 latency: threshold p95"), "\(shown.stdout)")

        // A label for a threshold the step does not have is refused with its place.
        CLI.write(try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "error_rate: Error rate }", with: "eror_rate: Error rate }"), to: path)
        let invalid = try await CLI.run(["validate", path])
        #expect(invalid.status != 0 && invalid.stdout.contains("label for 'eror_rate': the step has no threshold 'eror_rate'") || invalid.stderr.contains("label for 'eror_rate'"), "\(invalid.stdout)\(invalid.stderr)")
    }
}
