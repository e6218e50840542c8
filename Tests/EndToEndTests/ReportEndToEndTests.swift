import Foundation
import MarshalTestSupport
import Testing

/// `marshal report` on a real run: two load tests against the gate app, the first one's
/// impossible `p95 < 1us` failing under ignore_failure.
@Suite("Results document of a real run", .serialized)
struct ReportEndToEndTests {
    @Test("issue 14: both load tests' thresholds are in the document, A's failure counted; --verify passes on it and names a hand-edited figure")
    func twoLoadTests() async throws {
        let app = try GateApp()
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
        #expect(text.contains("| load: p95 | p95 < 1us |") && text.contains("❌ failed (ignored: ignore_failure) |"), "\(text)")
        #expect(text.contains("| load: p95 | p95 < 2s |"))
        #expect(text.contains("4 gate evaluations: 3 passed, 1 failed (1 of them ignored under ignore_failure), 0 inconclusive."), "\(text)")
        #expect(!text.contains("Nothing failed"))
        #expect(text.contains("**Hosts** (1): this machine"), "the load tests ran from this machine, not on a host")
        #expect(text.contains("## Load test: load A (`load_a`)") && text.contains("## Load test: load B (`load_b`)"))

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
}
