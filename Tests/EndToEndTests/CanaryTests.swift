import Foundation
import MarshalTestSupport
import Testing

/// An app per lab host (scripts/testing/canary-app.py): serves the release its host's `current`
/// points at, with that release's latency; or a round-robin front door over such apps.
final class CanaryApp: ScriptedApp, @unchecked Sendable {
    init(_ arguments: [String]) async throws { try await super.init(script: "canary-app.py", ttl: 300, arguments) }
}

/// Canary against stable (issue 15): a per-batch load test on the batch's own hosts, at the same
/// time as the same load on hosts not yet updated. Real sshd hosts (scripts/lab) ship the
/// releases; each host's app serves the release its `current` points at, behind a front door.
@Suite("Canary against stable", .serialized)
struct CanaryTests {
    /// Releases that differ only in their latency (VERSION `latency_ms=`).
    static func artifacts(_ lab: Lab, _ releases: [String: Int]) throws -> String {
        let dir = lab.dir + "/artifacts"
        for (release, latency) in releases {
            let src = lab.dir + "/src-" + release
            try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            CLI.write("\(release)\nlatency_ms=\(latency)\n", to: src + "/VERSION")
            let packed = try Shell.runBlocking(["/bin/tar", "-czf", "\(dir)/app-\(release).tar.gz", "-C", src, "."])
            guard packed.status == 0 else { throw Lab.LabError.startFailed(packed.stderr) }
        }
        return dir
    }

    /// The lab's environment with each host's app URL as `base_url` and the front door's as `front_url`.
    static func environment(_ lab: Lab, apps: [CanaryApp], front: CanaryApp) -> String {
        var text = lab.file(lab.environment) ?? ""
        for (i, app) in apps.enumerated() {
            text = text.replacingOccurrences(of: "vars: { app_dir: \(lab.hostDir("web\(i + 1)")),", with: "vars: { app_dir: \(lab.hostDir("web\(i + 1)")), base_url: \"\(app.url)\",")
        }
        text = text.replacingOccurrences(of: "vars: { lab_dir:", with: "vars: { front_url: \"\(front.url)\", lab_dir:")
        let path = lab.dir + "/env-canary.yml"
        CLI.write(text, to: path)
        return path
    }

    static func runbook(_ lab: Lab, artifacts: String) -> String {
        let path = lab.dir + "/canary.yml"
        CLI.write("""
        version: 1
        runbook: canary
        params:
          release: { type: string, required: true }
          gates: { type: bool, default: true }
        targets: web
        strategy: { batches: [1, "100%"] }
        steps:
          - id: ship
            release: { artifact: "\(artifacts)/app-{{ params.release }}.tar.gz", path: "{{ vars.app_dir }}/app", id: "{{ params.release }}", keep: 3 }
          - name: healthy
            health: { url: "{{ host.vars.base_url }}/api/health", expect: { status: 200, json: { "$.release": "{{ params.release }}" } }, within: 10s }
          - id: front
            name: Front door p95 under 2 s
            when: "params.gates"
            benchmark:
              base_url: "{{ vars.front_url }}"
              phases: [ { duration: 8s, rate: 25 } ]
              scenarios: [ { name: work, get: /api/work } ]
              thresholds: { p95: "< 2s" }
          - id: canary
            name: Canary against stable
            when: "params.gates"
            benchmark:
              base_url: "{{ host.vars.base_url }}"
              targets: batch
              compare: stable
              phases: [ { duration: 8s, rate: 25 } ]
              scenarios: [ { name: work, get: /api/work } ]
              thresholds: { canary.p95: "< stable.p95 * 1.1" }
        on_failure: rollback
        """, to: path)
        return path
    }

    func shown(_ state: String) async throws -> [String: Any] {
        let shown = try await CLI.run(["show", "last", "--state", state, "--output", "json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any], "\(shown.stderr)")
    }

    func serving(_ lab: Lab, _ host: String) -> String? {
        lab.file(lab.hostDir(host) + "/app/current/VERSION")?.split(separator: "\n").first.map(String.init)
    }

    @Test("a canary 30 % slower than stable fails canary.p95 < stable.p95 * 1.1 in batch 1 while the front-door p95 < 2s gate passed, and is rolled back; a canary as fast as stable passes, and the last batch, with no stable host left, skips the comparison")
    func canaryAgainstStable() async throws {
        let lab = try await Lab(hosts: 4)
        var apps: [CanaryApp] = []
        for index in 1...4 { apps.append(try await CanaryApp(["--app-dir", lab.hostDir("web\(index)") + "/app"])) }
        let front = try await CanaryApp(["--front", apps.map(\.url).joined(separator: ",")])
        // Latencies of a second, so the machine's own jitter (tens of ms on a loaded box) is small
        // against the 10 % margin; "slow" is 30 % slower than "base", "same" is as fast.
        let artifacts = try Self.artifacts(lab, ["base": 1000, "slow": 1300, "same": 1000])
        let runbook = Self.runbook(lab, artifacts: artifacts)
        let environment = Self.environment(lab, apps: apps, front: front)

        let setup = try await CLI.run(["run", runbook, "-e", environment, "-p", "release=base", "-p", "gates=false", "--state", lab.state], timeout: 180)
        try #require(setup.status == 0, "\(setup.stdout)\(setup.stderr)")

        let report = lab.dir + "/slow.md"
        let slow = try await CLI.run(["run", runbook, "-e", environment, "-p", "release=slow", "--state", lab.state, "--report", report], timeout: 180)
        #expect(slow.status == 1, "\(slow.stdout)\(slow.stderr)")
        #expect(slow.stderr.contains("threshold canary.p95 < stable.p95 * 1.1 failed"), "\(slow.stderr)")
        let json = try await shown(lab.state)
        let steps = (json["steps"] as? [[String: Any]] ?? []).filter { $0["phase"] as? String == "main" }
        let frontRuns = steps.filter { $0["name"] as? String == "Front door p95 under 2 s" }
        #expect(frontRuns.count == 1 && frontRuns.first?["status"] as? String == "succeeded" && frontRuns.first?["batch"] as? Int == 1,
                "the front-door gate ran in batch 1 and passed: \(frontRuns)")
        let canary = steps.filter { $0["name"] as? String == "Canary against stable" }
        #expect(canary.count == 1 && canary.first?["batch"] as? Int == 1 && canary.first?["status"] as? String == "failed", "\(canary)")
        let measurements = json["measurements"] as? [[String: Any]] ?? []
        let loads = measurements.filter { $0["kind"] as? String == "benchmark" }
        let names = loads.compactMap { $0["name"] as? String }
        #expect(names.contains("canary web1: \(apps[0].url)") && names.contains("stable web2: \(apps[1].url)"), "\(names)")
        #expect(Set(loads.compactMap { $0["host"] as? String }).isSuperset(of: ["web1", "web2"]))
        let verdict = measurements.first { $0["kind"] as? String == "threshold" && $0["name"] as? String == "canary.p95" }
        #expect(verdict?["outcome"] as? String == "failed")
        for host in ["web1", "web2", "web3", "web4"] { #expect(serving(lab, host) == "base", "\(host) serves the stable release") }
        let document = lab.file(report) ?? ""
        #expect(document.contains("Canary against stable (id canary), batch 1, canary on web1"), "the canary's figures in the report")
        #expect(document.contains("Canary against stable (id canary), batch 1, stable on web2"), "the stable figures in the report")
        let frontMessage = frontRuns.first?["message"] as? String ?? ""
        print("30 % slower canary — front door: \(frontMessage)")
        print("30 % slower canary — \(canary.first?["message"] as? String ?? "")")

        let same = try await CLI.run(["run", runbook, "-e", environment, "-p", "release=same", "--state", lab.state], timeout: 180)
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
        let sameSteps = (try await shown(lab.state)["steps"] as? [[String: Any]] ?? [])
            .filter { $0["name"] as? String == "Canary against stable" && $0["phase"] as? String == "main" }
        #expect(sameSteps.map { $0["status"] as? String } == ["succeeded", "skipped"],
                "batch 1 compared and passed; batch 2 had no stable host left: \(sameSteps)")
        print("as fast as stable — \(sameSteps.first?["message"] as? String ?? "")")
        for host in ["web1", "web2", "web3", "web4"] { #expect(serving(lab, host) == "same", "\(host)") }
    }

    @Test("host.vars.base_url in a benchmark without targets: batch is refused once at validate, naming the fix; with it, plan renders one URL per batch host")
    func hostURLNeedsTargetsBatch() async throws {
        let lab = try await Lab(hosts: 2)
        let path = lab.dir + "/b.yml"
        CLI.write("""
        version: 1
        runbook: b
        targets: web
        strategy: { batches: [1, "100%"] }
        steps:
          - benchmark:
              base_url: "{{ host.vars.app_dir }}"
              phases: [ { duration: 1s, rate: 1 } ]
              scenarios: [ { get: / } ]
        """, to: path)
        for command in [["validate", path, "-e", lab.environment], ["plan", path, "-e", lab.environment]] {
            let result = try await CLI.run(command)
            #expect(result.status == 2, "\(command[0]): \(result.stdout)\(result.stderr)")
            #expect(result.stderr.contains("b.yml:7:") && result.stderr.contains("there is no host here") && result.stderr.contains("targets: batch"), "\(result.stderr)")
            #expect(result.stderr.components(separatedBy: "there is no host here").count == 2, "printed once: \(result.stderr)")
        }
        CLI.write((lab.file(path) ?? "").replacingOccurrences(of: "  - benchmark:\n", with: "  - benchmark:\n      targets: batch\n"), to: path)
        let plan = try await CLI.run(["plan", path, "-e", lab.environment])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains(lab.hostDir("web1")) && plan.stdout.contains(lab.hostDir("web2")), "\(plan.stdout)")
    }
}
