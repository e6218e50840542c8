import Foundation
import MarshalTestSupport
import Testing

/// `targets: batch` runs one load test per host at the same time; each result must stay with the
/// host it measured. In release builds of 6.3.1 a result's index came back as 0 (every host named
/// after the first; with `compare: stable`, the stable side's figures counted as the canary's) or
/// as garbage (a trap). scripts/test runs this suite against the release binary too.
@Suite("Load tests on the batch's own hosts")
struct BatchTargetsTests {
    /// Local hosts, each with its app's URL and the delay its answers take (gate-app's /slow/MS).
    func environment(_ dir: String, _ hosts: [(name: String, url: String, ms: Int)]) -> String {
        let lines = hosts.map { "  \($0.name): { address: 127.0.0.1, roles: [web], vars: { base_url: \"\($0.url)/slow\", ms: \($0.ms) } }" }
        CLI.write("version: 1\nenvironment: batch-targets\ntransport: local\nhosts:\n" + lines.joined(separator: "\n") + "\n", to: dir + "/env.yml")
        return dir + "/env.yml"
    }

    /// One benchmark step on each batch's own hosts; `extra` adds keys such as `compare: stable`.
    func runbook(_ dir: String, batches: String, extra: String = "", duration: String, rate: Int, thresholds: String) -> String {
        CLI.write("""
        version: 1
        runbook: batch-targets
        targets: web
        strategy: { batches: \(batches) }
        steps:
          - benchmark:
              base_url: "{{ host.vars.base_url }}"
              targets: batch\(extra)
              phases: [ { duration: \(duration), rate: \(rate) } ]
              scenarios: [ { get: "/{{ host.vars.ms }}" } ]
              thresholds: \(thresholds)
        on_failure: stop
        """, to: dir + "/rb.yml")
        return dir + "/rb.yml"
    }

    func loads(_ dir: String) async throws -> [[String: Any]] {
        let shown = try await CLI.run(["show", "last", "--state", dir + "/state", "--output", "json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any], "\(shown.stderr)")
        return (json["measurements"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "benchmark" }
    }

    /// The p50 (ms) in a load test's recorded result.
    func p50(_ load: [String: Any]) -> Double? {
        guard let text = load["payloadJSON"] as? String,
              let payload = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let overall = payload["overall"] as? [String: Any],
              let latency = overall["latency"] as? [String: Any], let p50 = latency["p50"] as? Double else { return nil }
        return p50 * 1000
    }

    @Test("three hosts in one batch: each load test is named and recorded for its own host and URL, with that host's latency")
    func eachHostItsOwnFigures() async throws {
        let dir = CLI.temporaryDirectory()
        let hosts = [("a", try await GateApp(), 1), ("b", try await GateApp(), 60), ("c", try await GateApp(), 120)]
        let env = environment(dir, hosts.map { (name: $0.0, url: $0.1.url, ms: $0.2) })
        let path = runbook(dir, batches: #"["100%"]"#, duration: "2s", rate: 20, thresholds: #"{ p95: "< 5s" }"#)
        let result = try await CLI.run(["run", path, "-e", env, "--state", dir + "/state"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let loads = try await loads(dir)
        #expect(loads.count == 3)
        for (name, app, ms) in hosts {
            let load = loads.first { $0["host"] as? String == name }
            #expect(load?["name"] as? String == "canary \(name): \(app.url)/slow", "\(loads.map { $0["name"] ?? "" })")
            let measured = load.flatMap(p50) ?? -1
            #expect(measured >= Double(ms) && measured < Double(ms) + 50, "\(name) answers in \(ms) ms; its load test measured p50 \(measured) ms")
        }
    }

    @Test("compare: stable with a slow canary: the canary's and the stable host's figures stay on their sides, and the comparison fails")
    func sidesStayApart() async throws {
        let dir = CLI.temporaryDirectory()
        let canary = try await GateApp(), stable = try await GateApp()
        let env = environment(dir, [(name: "a", url: canary.url, ms: 120), (name: "b", url: stable.url, ms: 1)])
        let path = runbook(dir, batches: #"[1, "100%"]"#, extra: "\n      compare: stable", duration: "2s", rate: 20,
                           thresholds: #"{ canary.p95: "< stable.p95 * 1.1" }"#)
        let result = try await CLI.run(["run", path, "-e", env, "--state", dir + "/state"])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("threshold canary.p95 < stable.p95 * 1.1 failed"), "\(result.stderr)")
        let loads = try await loads(dir)
        #expect(Set(loads.compactMap { $0["name"] as? String }) == ["canary a: \(canary.url)/slow", "stable b: \(stable.url)/slow"])
        #expect(loads.first { $0["host"] as? String == "a" }.flatMap(p50).map { $0 >= 120 } == true, "the canary's own figures")
        #expect(loads.first { $0["host"] as? String == "b" }.flatMap(p50).map { $0 < 60 } == true, "the stable host's own figures")
    }

    @Test("a batch host that answers nothing leaves p95 without data: the gate is inconclusive and fails, though the other host is fast")
    func deadHostIsNoData() async throws {
        let dir = CLI.temporaryDirectory()
        let live = try await GateApp()
        let env = environment(dir, [(name: "a", url: live.url, ms: 1), (name: "b", url: "http://127.0.0.1:\(Loopback.closedPort())", ms: 1)])
        let path = runbook(dir, batches: #"["100%"]"#, duration: "1s", rate: 10, thresholds: #"{ p95: "< 500ms" }"#)
        let result = try await CLI.run(["run", path, "-e", env, "--state", dir + "/state"])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("threshold p95 < 500ms: no data"), "\(result.stderr)")
    }
}
