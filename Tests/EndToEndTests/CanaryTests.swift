import Foundation
import Testing

/// Canary against stable (issue 15): a per-batch load test on the batch's own hosts, at the same
/// time as the same load on hosts not yet updated, against the demo lab (sshd hosts, apps under
/// supervisor, nginx in front). Part of the serialized demo-lab suite: the lab is at a fixed path.
extension DemoLabTests {
    /// Releases of the lab app that differ only in their API latency (VERSION `latency_ms=`).
    func latencyArtifacts(_ releases: [String: Int]) async throws -> String {
        let dir = CLI.temporaryDirectory()
        let app = dir + "/app.py"
        let extracted = try await Shell.run(["/bin/tar", "-xzf", "/tmp/marshal-lab/build/app-v1.tar.gz", "-C", dir, "app.py"])
        try #require(extracted.status == 0, "\(extracted.stderr)")
        for (release, latency) in releases {
            let src = dir + "/src-" + release
            try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
            _ = try await Shell.run(["/bin/cp", app, src + "/app.py"])
            CLI.write("\(release)\nlatency_ms=\(latency)\n", to: src + "/VERSION")
            let packed = try await Shell.run(["/bin/tar", "-czf", "\(dir)/app-\(release).tar.gz", "-C", src, "."])
            try #require(packed.status == 0, "\(packed.stderr)")
        }
        return dir
    }

    func canaryRunbook(artifacts: String) -> String {
        let path = artifacts + "/canary.yml"
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
            release: { artifact: "\(artifacts)/app-{{ params.release }}.tar.gz", path: "{{ vars.app_dir }}", id: "{{ params.release }}", keep: 3 }
            undo:
              service: { manager: supervisor, action: restart, name: app, config: "{{ vars.supervisor_config }}" }
          - name: reload
            service: { manager: supervisor, action: restart, name: app, config: "{{ vars.supervisor_config }}" }
          - name: healthy
            health: { url: "{{ host.vars.base_url }}/api/health", expect: { status: 200, json: { "$.release": "{{ params.release }}" } }, within: 15s }
          - id: front
            name: Front door p95 (reference 000's target)
            when: "params.gates"
            benchmark:
              base_url: "{{ vars.base_url }}"
              phases: [ { duration: 5s, rate: 20 } ]
              scenarios: [ { name: diagram, get: /api/state-machine/diagram } ]
              thresholds: { p95: "< 500ms" }
          - id: canary
            name: Canary against stable
            when: "params.gates"
            benchmark:
              base_url: "{{ host.vars.base_url }}"
              targets: batch
              compare: stable
              phases: [ { duration: 5s, rate: 20 } ]
              scenarios: [ { name: diagram, get: /api/state-machine/diagram } ]
              thresholds: { canary.p95: "< stable.p95 * 1.1" }
        on_failure: rollback
        """, to: path)
        return path
    }

    @Test("canary against stable: a release 30 % slower fails canary.p95 < stable.p95 * 1.1 in batch 1 (the front-door p95 gate passed) and is rolled back; a release as fast as stable passes")
    func canaryAgainstStable() async throws {
        try await ensureLab()
        for i in 1...5 {
            for name in ["unhealthy", "latency-ms", "error-rate"] {
                _ = try await Shell.run(["/bin/rm", "-f", "/tmp/marshal-lab/hosts/web\(i)/app/shared/\(name)"])
            }
        }
        let artifacts = try await latencyArtifacts(["base": 200, "slow": 260, "same": 200])
        let runbook = canaryRunbook(artifacts: artifacts)
        let state = artifacts + "/state"
        let setup = try await CLI.run(["run", runbook, "-e", "local", "-p", "release=base", "-p", "gates=false", "--state", state], timeout: 180)
        try #require(setup.status == 0, "\(setup.stdout)\(setup.stderr)")

        let report = artifacts + "/slow.md"
        let slow = try await CLI.run(["run", runbook, "-e", "local", "-p", "release=slow", "--state", state, "--report", report], timeout: 180)
        #expect(slow.status == 1, "\(slow.stdout)\(slow.stderr)")
        #expect(slow.stderr.contains("threshold canary.p95 < stable.p95 * 1.1 failed"), "\(slow.stderr)")
        let shown = try await CLI.run(["show", "last", "--state", state, "--output", "json"])
        let json = (try? JSONSerialization.jsonObject(with: Data(shown.stdout.utf8))) as? [String: Any] ?? [:]
        let steps = json["steps"] as? [[String: Any]] ?? []
        let front = steps.filter { $0["name"] as? String == "Front door p95 (reference 000's target)" && $0["phase"] as? String == "main" }
        #expect(front.count == 1 && front.first?["status"] as? String == "succeeded" && front.first?["batch"] as? Int == 1,
                "the front-door gate ran in batch 1 and passed: \(front)")
        let canary = steps.filter { $0["name"] as? String == "Canary against stable" && $0["phase"] as? String == "main" }
        #expect(canary.count == 1 && canary.first?["batch"] as? Int == 1 && canary.first?["status"] as? String == "failed", "\(canary)")
        let measurements = json["measurements"] as? [[String: Any]] ?? []
        let loads = measurements.filter { $0["kind"] as? String == "benchmark" }.compactMap { $0["name"] as? String }
        #expect(loads.contains { $0.hasPrefix("canary web1: http://127.0.0.1:18081") }, "\(loads)")
        #expect(loads.contains { $0.hasPrefix("stable web2: http://127.0.0.1:18082") }, "\(loads)")
        let verdict = measurements.first { $0["kind"] as? String == "threshold" && $0["name"] as? String == "canary.p95" }
        #expect(verdict?["outcome"] as? String == "failed")
        for i in 1...5 { #expect(try await serving(i) == "base", "web\(i) serves the stable release after the rollback") }
        let document = (try? String(contentsOfFile: report, encoding: .utf8)) ?? ""
        #expect(document.contains("Canary against stable (id canary), batch 1, canary on web1"), "the canary's figures in the report")
        #expect(document.contains("Canary against stable (id canary), batch 1, stable on web2"), "the stable figures in the report")
        let message = canary.first?["message"] as? String ?? ""
        print("canary, 30 % slower: \(message)")

        let same = try await CLI.run(["run", runbook, "-e", "local", "-p", "release=same", "--state", state], timeout: 180)
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
        let shownSame = try await CLI.run(["show", "last", "--state", state, "--output", "json"])
        let sameSteps = ((try? JSONSerialization.jsonObject(with: Data(shownSame.stdout.utf8))) as? [String: Any])?["steps"] as? [[String: Any]] ?? []
        let sameCanary = sameSteps.filter { $0["name"] as? String == "Canary against stable" && $0["phase"] as? String == "main" }
        #expect(sameCanary.map { $0["status"] as? String } == ["succeeded", "skipped"],
                "batch 1 compared and passed; batch 2 had no stable host left: \(sameCanary)")
        print("canary, as fast: \(sameCanary.first?["message"] as? String ?? "")")
        for i in 1...5 { #expect(try await serving(i) == "same", "web\(i)") }
    }
}
