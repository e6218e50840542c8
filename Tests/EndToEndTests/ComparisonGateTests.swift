import Foundation
import MarshalTestSupport
import Testing

/// Gates that compare (issue 15): query time before and after a migration, baselines from an
/// earlier run, and promotion (`requires:`) from the journal. Real sshd host, real PostgreSQL.
@Suite("Comparison gates", .serialized)
struct ComparisonGateTests {
    func shown(_ runId: String, state: String) async throws -> [String: Any] {
        let shown = try await CLI.run(["show", runId, "--state", state, "--output", "json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any], "\(shown.stderr)")
    }

    // MARK: - Query time (reference 000's index flow)

    @Test("the shipped index-migration runbook measures the query's server time before and after the index migration and passes on > 30 % improvement; both figures are journaled and in the report")
    func indexFlow() async throws {
        let lab = try await Lab(hosts: 1, roles: "db=1")
        let pg = try await TestPostgres.start()
        // Reference 000's tables, with enough rows (300,000) that a scan and an index differ.
        let schema = try String(contentsOfFile: CLI.root + "/scripts/lab.d/schema.sql", encoding: .utf8)
            .replacingOccurrences(of: "1 + i % 40,\n       'lab-session-'", with: "1 + i % 4000,\n       'lab-session-'")
            .replacingOccurrences(of: "generate_series(1, 500)", with: "generate_series(1, 300000)")
        try await TestPostgres.run(schema + "; ANALYZE;", url: pg.url)
        let secret = lab.dir + "/db-url"
        CLI.write(pg.url, to: secret)
        chmod(secret, 0o600)
        let environment = lab.dir + "/env-db.yml"
        let base = (lab.file(lab.environment) ?? "").replacingOccurrences(of: "vars: {", with: "vars: { migrations_dir: \(CLI.root)/scripts/lab.d/migrations,")
        CLI.write(base + "secrets:\n  database_url: { file: \(secret) }\n", to: environment)
        let report = lab.dir + "/report.md"
        let result = try await CLI.run(["run", CLI.root + "/Runbooks/index-migration.yml", "-e", environment, "--state", lab.state, "--report", report],
                                       timeout: 180)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let json = try await shown("last", state: lab.state)
        let times = (json["measurements"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "query_time" }
        #expect(times.count == 2, "a query time before and after: \(times)")
        let values = times.compactMap { $0["value"] as? Double }
        try #require(values.count == 2)
        #expect(values[0] > 0 && values[1] > 0, "both measured")
        #expect(values[1] < values[0] * 0.7, "the index made it faster: before \(values[0]) s, after \(values[1]) s")
        let steps = json["steps"] as? [[String: Any]] ?? []
        let after = try #require(steps.first { $0["name"] as? String == "Query time improved by more than 30 %" })
        #expect((after["message"] as? String ?? "").contains("execution_time"), "\(after)")
        let document = lab.file(report) ?? ""
        #expect(document.contains("Query time of Query time before the migration on db1: server execution"), "\(document)")
        #expect(document.contains("Query time of Query time improved by more than 30 % on db1: server execution"))
        print("index flow: before \(String(format: "%.3f", values[0] * 1000)) ms, after \(String(format: "%.3f", values[1] * 1000)) ms (server execution time)")
    }

    @Test("a query that does not improve fails the > 30 % gate with both times in the message")
    func noImprovement() async throws {
        let lab = try await Lab(hosts: 1, roles: "db=1")
        let pg = try await TestPostgres.start()
        // The first scan after an insert sets every row's hint bits and was 12 times slower than the
        // second in a CI run, enough to pass a 10 × gate by itself; VACUUM sets them first, and a scan
        // warms the buffers. 200,000 rows make a scan take milliseconds, so that a scheduling pause
        // of the first query under load does not fake the 20 × improvement asked for below.
        try await TestPostgres.run("create table t (id int primary key, v int); insert into t select g, g % 10 from generate_series(1, 200000) g", url: pg.url)
        try await TestPostgres.run("vacuum analyze t", url: pg.url)
        try await TestPostgres.run("select sum(v) from t", url: pg.url)
        let environment = lab.environment(withDatabase: pg)
        let runbook = lab.dir + "/noop.yml"
        CLI.write("""
        version: 1
        runbook: noop-index
        targets: db
        steps:
          - id: before
            sql: { database: "{{ secrets.db }}", query: "select sum(v) from t", timing: explain }
          - id: after
            sql: { database: "{{ secrets.db }}", query: "select sum(v) from t", timing: explain, expect: "execution_time < steps.before.execution_time * 0.05" }
        """, to: runbook)
        let result = try await CLI.run(["run", runbook, "-e", environment, "--state", lab.state])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("sql failed: execution_time"), "\(result.stderr)")
        #expect(result.stderr.contains("steps.before.execution_time"), "\(result.stderr)")
    }

    /// The calls and total time (ms) of the statements matching `:'pattern'`, as docs/templates-and-expressions.md reads them.
    static let statementsQuery = "select coalesce(sum(calls), 0) as calls, coalesce(sum(total_exec_time), 0) as total_ms from pg_stat_statements where query like :'pattern'"

    @Test("pg_stat_statements over a window: a query pattern's calls and mean time during a step, as the deltas of two columns of one query (row.calls, row.total_ms), with both ends in the evidence")
    func statementsOverWindow() async throws {
        let lab = try await Lab(hosts: 1, roles: "db=1")
        let pg = try await TestPostgres.start(statements: true)
        // The application's look-up is a function, so that one step makes exactly 40 of them, each
        // counted by pg_stat_statements (track = all counts statements run inside functions).
        try await TestPostgres.run("""
            create table sessions (id int primary key, user_id int);
            insert into sessions select g, g % 100 from generate_series(1, 5000) g;
            analyze sessions;
            create function lookup(u int) returns bigint language plpgsql as $$ begin return (select count(*) from sessions where user_id = u); end $$;
            """, url: pg.url)
        let environment = lab.environment(withDatabase: pg)
        let runbook = lab.dir + "/statements.yml"
        CLI.write("""
        version: 1
        runbook: statements
        targets: db
        steps:
          - id: load
            sql: { database: "{{ secrets.db }}", query: "select sum(lookup(g)) from generate_series(1, 40) g" }
          - name: Session look-ups during the window
            sql:
              database: "{{ secrets.db }}"
              query: "\(Self.statementsQuery)"
              args: { pattern: "%from sessions where%" }
              over: load
              expect: "delta(row.calls) == 40 and delta(row.total_ms) / delta(row.calls) < 1000"
        """, to: runbook)
        let result = try await CLI.run(["run", runbook, "-e", environment, "--state", lab.state])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let json = try await shown("last", state: lab.state)
        let steps = json["steps"] as? [[String: Any]] ?? []
        let gate = try #require(steps.first { $0["name"] as? String == "Session look-ups during the window" }, "\(json)")
        let evidence = try JSONSerialization.jsonObject(with: Data((gate["registeredJSON"] as? String ?? "{}").utf8)) as? [String: Any]
        let window = try #require(evidence?["window"] as? [String: Any], "\(gate)")
        let calls = try #require(window["row.calls"] as? [String: Any], "\(window)")
        #expect(calls["delta"] as? Double == 40, "\(calls)")
        let total = try #require(window["row.total_ms"] as? [String: Any], "\(window)")
        #expect((total["delta"] as? Double ?? 0) > 0, "\(total)")
    }

    @Test("pg_stat_statements over a window with no calls of the pattern is no data (a division by zero), never a pass")
    func statementsWithoutCalls() async throws {
        let lab = try await Lab(hosts: 1, roles: "db=1")
        let pg = try await TestPostgres.start(statements: true)
        let environment = lab.environment(withDatabase: pg)
        let runbook = lab.dir + "/quiet.yml"
        CLI.write("""
        version: 1
        runbook: quiet
        targets: db
        steps:
          - id: load
            wait: 1s
          - sql:
              database: "{{ secrets.db }}"
              query: "\(Self.statementsQuery)"
              args: { pattern: "%from nowhere_at_all%" }
              over: load
              expect: "delta(row.total_ms) / delta(row.calls) < 1000"
        """, to: runbook)
        let result = try await CLI.run(["run", runbook, "-e", environment, "--state", lab.state])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("division by zero"), "\(result.stderr)")
    }

    @Test("a gate on the query's time (`execution_time < 1`, labelled Database query time) reports that time in the Targets row, not the query's first cell")
    func queryTimeTarget() async throws {
        let lab = try await Lab(hosts: 1, roles: "db=1")
        let pg = try await TestPostgres.start()
        try await TestPostgres.run("create table t (id int primary key, v int); insert into t select g, 4242 from generate_series(1, 2000) g; analyze t", url: pg.url)
        let environment = lab.environment(withDatabase: pg)
        let runbook = lab.dir + "/timed.yml"
        CLI.write("""
        version: 1
        runbook: timed
        targets: db
        steps:
          - label: Database query time
            sql: { database: "{{ secrets.db }}", query: "select max(v) from t", timing: explain, expect: "execution_time < 1" }
        """, to: runbook)
        let report = lab.dir + "/report.md"
        let result = try await CLI.run(["run", runbook, "-e", environment, "--state", lab.state, "--report", report])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let row = try #require((lab.file(report) ?? "").split(separator: "\n").first { $0.hasPrefix("| Database query time (") }, "no Targets row")
        // The first cell is 4242; the row must show the server's execution time in ms, and a margin.
        #expect(!row.contains("4242") && row.contains(" ms |") && row.contains("better"), "\(row)")
    }

    @Test("timing: explain on a query that changes data is refused at validate, naming the key")
    func explainOnWrite() async throws {
        let dir = CLI.temporaryDirectory()
        let runbook = dir + "/w.yml"
        CLI.write("""
        version: 1
        runbook: w
        steps:
          - sql: { on: all, database: "x", query: "delete from t", timing: explain }
        """, to: runbook)
        let result = try await CLI.run(["validate", runbook])
        #expect(result.status == 2)
        #expect(result.stderr.contains("w.yml:4:") && result.stderr.contains("'timing: explain' runs the query a second time"), "\(result.stderr)")
    }

    // MARK: - Baselines

    func baselineRunbook(_ dir: String, value: Int, noData: String = "fail") -> String {
        let path = dir + "/b.yml"
        CLI.write("""
        version: 1
        runbook: baselined
        steps:
          - id: queue
            probe: { command: "echo \(value)", expect: "value <= baseline.queue.value * 1.5", on_no_data: \(noData) }
        """, to: path)
        return path
    }

    @Test("a baseline gate with no baseline is inconclusive and fails by default, saying there is no baseline; with a baseline it compares with the baseline run's figure")
    func baseline() async throws {
        let dir = CLI.temporaryDirectory()
        let environment = CLI.localEnvironment(dir, name: "stage")
        let state = dir + "/state"
        let first = try await CLI.run(["run", baselineRunbook(dir, value: 10), "-e", environment, "--state", state])
        #expect(first.status == 1, "no baseline is never a pass: \(first.stdout)\(first.stderr)")
        #expect(first.stderr.contains("no data (no value for 'baseline.queue.value': no baseline: the journal has no succeeded run of 'baselined' on stage (last-success))"), "\(first.stderr)")
        #expect(first.stderr.contains("inconclusive"))
        let firstId = try #require((try await shown("last", state: state)["run"] as? [String: Any])?["id"] as? String)

        // on_no_data: pass lets the first run through (recorded inconclusive): it becomes the baseline.
        let seeded = try await CLI.run(["run", baselineRunbook(dir, value: 10, noData: "pass"), "-e", environment, "--state", state])
        #expect(seeded.status == 0, "\(seeded.stdout)\(seeded.stderr)")
        let within = try await CLI.run(["run", baselineRunbook(dir, value: 14), "-e", environment, "--state", state])
        #expect(within.status == 0, "14 <= 10 * 1.5: \(within.stdout)\(within.stderr)")
        // The newest success (14) is the baseline now: 25 <= 14 * 1.5 does not hold.
        let beyond = try await CLI.run(["run", baselineRunbook(dir, value: 25), "-e", environment, "--state", state])
        #expect(beyond.status == 1)
        #expect(beyond.stderr.contains("baseline.queue.value") && beyond.stderr.contains("14"), "\(beyond.stderr)")

        // --baseline names a run whose step did not succeed: no such figure, inconclusive, said so.
        let named = try await CLI.run(["run", baselineRunbook(dir, value: 1), "-e", environment, "--state", state, "--baseline", firstId])
        #expect(named.status == 1)
        #expect(named.stderr.contains("baseline run \(firstId)") && named.stderr.contains("has no succeeded step with id 'queue'"), "\(named.stderr)")
        let missing = try await CLI.run(["run", baselineRunbook(dir, value: 1), "-e", environment, "--state", state, "--baseline", "nosuchrun"])
        #expect(missing.status == 2, "\(missing.stderr)")
    }

    @Test("baseline.<id> naming no step of the runbook is a validate error with file:line:column and a suggestion")
    func baselineUnknownStep() async throws {
        let dir = CLI.temporaryDirectory()
        let path = dir + "/b.yml"
        CLI.write("""
        version: 1
        runbook: b
        steps:
          - id: queue
            probe: { command: "echo 1", expect: "value < baseline.queu.value" }
        """, to: path)
        let result = try await CLI.run(["validate", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("b.yml:5:") && result.stderr.contains("'baseline.queu.value' refers to step 'queu'") && result.stderr.contains("queue"), "\(result.stderr)")
    }

    // MARK: - Promotion

    @Test("a production run without a passing staging validation of the same release exits 3 naming what is missing; after one, it runs")
    func promotion() async throws {
        let dir = CLI.temporaryDirectory()
        let state = dir + "/state"
        let stagingDir = dir + "/staging", productionDir = dir + "/production"
        for d in [stagingDir, productionDir] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        let staging = CLI.localEnvironment(stagingDir, name: "staging")
        let production = CLI.localEnvironment(productionDir, name: "production")
        let validation = dir + "/validation.yml"
        CLI.write("""
        version: 1
        runbook: validation
        params: { release: { type: string, required: true }, fail: { type: bool, default: false } }
        steps:
          - shell: "test {{ params.fail }} = false"
        """, to: validation)
        let rollout = dir + "/rollout.yml"
        CLI.write("""
        version: 1
        runbook: rollout
        params: { release: { type: string, required: true } }
        requires: { runbook: validation, environment: staging, params: [release], within: 24h }
        steps:
          - shell: "echo {{ params.release }} > \(productionDir)/serving"
        """, to: rollout)

        let none = try await CLI.run(["run", rollout, "-e", production, "--state", state, "-p", "release=v2"])
        #expect(none.status == 3, "\(none.stdout)\(none.stderr)")
        #expect(none.stderr.contains("rollout.yml:4:") && none.stderr.contains("requires a passing run of 'validation' on staging with release=v2 within the last 24h; the journal has no run of it there"), "\(none.stderr)")
        #expect(!FileManager.default.fileExists(atPath: productionDir + "/serving"), "nothing ran")

        #expect(try await CLI.run(["run", validation, "-e", staging, "--state", state, "-p", "release=v1"]).status == 0)
        let other = try await CLI.run(["run", rollout, "-e", production, "--state", state, "-p", "release=v2"])
        #expect(other.status == 3)
        #expect(other.stderr.contains("had release=v1"), "\(other.stderr)")

        #expect(try await CLI.run(["run", validation, "-e", staging, "--state", state, "-p", "release=v2", "-p", "fail=true"]).status == 1)
        let failed = try await CLI.run(["run", rollout, "-e", production, "--state", state, "-p", "release=v2"])
        #expect(failed.status == 3)
        #expect(failed.stderr.contains("the newest such run") && failed.stderr.contains("failed"), "\(failed.stderr)")

        #expect(try await CLI.run(["run", validation, "-e", staging, "--state", state, "-p", "release=v2"]).status == 0)
        let promoted = try await CLI.run(["run", rollout, "-e", production, "--state", state, "-p", "release=v2"])
        #expect(promoted.status == 0, "\(promoted.stdout)\(promoted.stderr)")
        #expect((try? String(contentsOfFile: productionDir + "/serving", encoding: .utf8)) == "v2\n")
    }

    @Test("requires: naming a param the runbook does not declare is a validate error")
    func requiresUnknownParam() async throws {
        let dir = CLI.temporaryDirectory()
        let path = dir + "/r.yml"
        CLI.write("""
        version: 1
        runbook: r
        params: { release: v1 }
        requires: { runbook: validation, params: [relase] }
        steps:
          - shell: "true"
        """, to: path)
        let result = try await CLI.run(["validate", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("r.yml:4:") && result.stderr.contains("'requires' compares param 'relase'") && result.stderr.contains("release"), "\(result.stderr)")
    }
}
