import Foundation
import Testing

/// Rollouts and gates against the demo lab: real sshd hosts, apps under supervisor, nginx,
/// PostgreSQL and Prometheus (scripts/demo-lab). Part of the serialized "demo lab" suite because
/// the lab lives at the fixed /tmp/marshal-lab.
extension DemoLabTests {
    /// Starts the lab when it is not fully up; leaves it running for the next test (TTL bounded).
    func ensureLab() async throws {
        if try await demoLab("status").status != 0 {
            _ = try? await demoLab("stop")
            let started = try await Shell.run([Self.script, "start", "--ttl", "900"])
            try #require(started.status == 0, "\(started.stdout)\(started.stderr)")
        }
    }

    func serving(_ i: Int) async throws -> String? {
        (json(try await curl("http://127.0.0.1:1808\(i)/api/version").body)["release"] as? String)
    }

    /// A rollout runbook for the lab: release under supervisor, reload, health gate per host.
    func rolloutRunbook() -> String {
        let dir = CLI.temporaryDirectory()
        CLI.write("""
        version: 1
        runbook: lab-rollout
        params:
          release: { type: string, required: true }
        targets: web
        strategy: { batches: [1, "50%", "100%"] }
        steps:
          - id: ship
            release: { artifact: "/tmp/marshal-lab/build/app-{{ params.release }}.tar.gz", path: "{{ vars.app_dir }}", id: "{{ params.release }}", keep: 2 }
            undo:
              service: { manager: supervisor, action: restart, name: app, config: "{{ vars.supervisor_config }}" }
          - name: reload
            service: { manager: supervisor, action: restart, name: app, config: "{{ vars.supervisor_config }}" }
          - name: healthy
            health: { url: "{{ host.vars.base_url }}/api/health", expect: { status: 200, json: { "$.release": "{{ params.release }}" } }, within: 10s }
        on_failure: rollback
        """, to: dir + "/rollout.yml")
        return dir
    }

    @Test("v2 over v1 on 5 hosts under supervisor in [1, 50%, 100%]: health passes, every host serves v2, keep holds")
    func rolloutUnderSupervisor() async throws {
        try await ensureLab()
        let dir = rolloutRunbook()
        for i in 1...5 { _ = try await Shell.run(["/bin/rm", "-f", "/tmp/marshal-lab/hosts/web\(i)/app/shared/unhealthy"]) }
        for release in ["v1", "v2"] {
            let result = try await CLI.run(["run", dir + "/rollout.yml", "-e", "local", "-p", "release=\(release)", "--state", dir + "/state"])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        }
        for i in 1...5 {
            #expect(try await serving(i) == "v2", "web\(i)")
            let releases = try FileManager.default.contentsOfDirectory(atPath: "/tmp/marshal-lab/hosts/web\(i)/app/releases").filter { !$0.hasPrefix(".") }
            #expect(releases.count <= 2)
        }
    }

    @Test("a health gate failing on the second batch: exit 1, canary and batch 2 undone, untouched hosts left alone, all serve v1")
    func rollbackUnderSupervisor() async throws {
        try await ensureLab()
        let dir = rolloutRunbook()
        for i in 1...5 { _ = try await Shell.run(["/bin/rm", "-f", "/tmp/marshal-lab/hosts/web\(i)/app/shared/unhealthy"]) }
        #expect(try await CLI.run(["run", dir + "/rollout.yml", "-e", "local", "-p", "release=v1", "--state", dir + "/state"]).status == 0)
        // web3 (second batch) reports its database unhealthy: its gate fails after v2 is on it.
        CLI.write("database", to: "/tmp/marshal-lab/hosts/web3/app/shared/unhealthy")
        defer { _ = try? Shell.runBlocking(["/bin/rm", "-f", "/tmp/marshal-lab/hosts/web3/app/shared/unhealthy"]) }
        let result = try await CLI.run(["run", dir + "/rollout.yml", "-e", "local", "-p", "release=v2", "--state", dir + "/state"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("[web3] 3. healthy: failed"))
        #expect(result.stdout.contains("unhealthy services: database"))
        #expect(result.stderr.contains("rolled back: ship on web3, web2; ship on web1"))
        for i in 1...5 { #expect(try await serving(i) == "v1", "web\(i) serves v1 again") }
        let shown = try await ShownRun.load("last", state: dir + "/state")
        let undoHosts = Set(shown.steps.filter { $0.phase == "undo" }.compactMap(\.host))
        #expect(undoHosts == ["web1", "web2", "web3"])
        #expect(!shown.steps.contains { $0.host == "web4" || $0.host == "web5" }, "batch 3 never started")
    }

    @Test("SQL gates pass and fail against the lab's PostgreSQL; the query and answer are evidence")
    func sqlGates() async throws {
        try await ensureLab()
        let dir = CLI.temporaryDirectory()
        CLI.write("""
        version: 1
        runbook: sql-gates
        targets: db
        steps:
          - name: columns
            sql: { on: db, database: "{{ secrets.database_url }}", query: "select count(*) from information_schema.columns where table_name = 'ai_concierge_sessions'", expect: "value >= 5" }
          - name: nothing yet
            sql: { on: db, database: "{{ secrets.database_url }}", query: "select max(x) from (select 1 as x where false) t", expect: "value < 5", on_no_data: pass }
          - name: sessions
            sql: { on: db, database: "{{ secrets.database_url }}", query: "select count(*) from ai_concierge_sessions", expect: "value > 100000" }
        """, to: dir + "/sql.yml")
        let result = try await CLI.run(["run", dir + "/sql.yml", "-e", "local", "--state", dir + "/state"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("[db1] 1. columns: succeeded"))
        #expect(result.stdout.contains("sql: the query returned NULL (inconclusive: no data; on_no_data: pass)"), "\(result.stdout)")
        #expect(result.stdout.contains("sql failed: value = "))
        #expect(result.stdout.contains("expected value > 100000"))
        let url = (try? String(contentsOfFile: "/tmp/marshal-lab/secrets/database_url", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "none"
        #expect(!result.stdout.contains(url) && !result.stderr.contains(url), "the connection string is a secret")
    }

    @Test("metric gates pass and fail against the lab's Prometheus; no matching series is inconclusive and fails saying no data")
    func metricGates() async throws {
        try await ensureLab()
        // Prometheus scrapes every second; wait until it has the apps.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let up = try await curl("http://127.0.0.1:19090/api/v1/query?query=sum(up)").body
            if up.contains("\"5\"") { break }
            try? await Task.sleep(for: .milliseconds(200))
        }
        let dir = CLI.temporaryDirectory()
        CLI.write("""
        version: 1
        runbook: metric-gates
        targets: web
        steps:
          - name: all apps up
            metric: { prometheus: "{{ vars.prometheus_url }}", query: "sum(up)", expect: "value == 5" }
          - name: too many apps
            metric: { prometheus: "{{ vars.prometheus_url }}", query: "sum(up)", expect: "value > 5" }
            ignore_failure: true
          - name: ratio over no traffic
            metric: { prometheus: "{{ vars.prometheus_url }}", query: "vector(0) / vector(0)", expect: "value < 5%", on_no_data: pass }
          - name: nothing there
            metric: { prometheus: "{{ vars.prometheus_url }}", query: "no_such_metric_anywhere", expect: "value < 1" }
        """, to: dir + "/metric.yml")
        let result = try await CLI.run(["run", dir + "/metric.yml", "-e", "local", "--state", dir + "/state"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("1. all apps up: succeeded"))
        #expect(result.stdout.contains("2. too many apps: ignored_failure"))
        #expect(result.stdout.contains("3. ratio over no traffic: succeeded"), "\(result.stdout)")
        #expect(result.stdout.contains("returned NaN"), "NaN is no data, not a failed comparison")
        #expect(result.stdout.contains("4. nothing there: inconclusive"))
        #expect(result.stdout.contains("no data"))
        let shown = try await CLI.run(["show", "last", "--state", dir + "/state", "--output", "json"])
        #expect(shown.stdout.contains("\"outcome\" : \"inconclusive\""))
    }
}
