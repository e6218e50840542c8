import Foundation
import MarshalTestSupport
import Testing

/// The redis gate against a real Redis with the lab app caching in it and a Laravel-shaped queue
/// worker under supervisor (issue 15, items 1 and 2).
@Suite("Redis gates", .serialized)
struct RedisGateTests {
    /// `transport: local`: one host, `web1`, in the roles web and db; Redis' password as a secret.
    static func environment(_ redis: RedisLab, extra: String = "", secrets: String = "") -> String {
        let path = redis.dir + "/env.yml"
        CLI.write("""
        version: 1
        environment: redis-lab
        transport: local
        hosts:
          web1: { address: 127.0.0.1, roles: [web, db] }
        vars:
          app_dir: \(redis.appDir)
          app_url: "\(redis.appURL)"
          artifacts: \(redis.artifacts)
          supervisor_config: \(redis.supervisorConfig)
          redis_url: "\(redis.url)"
          worker_program: worker
        \(extra)
        secrets:
          redis_password: { file: \(redis.passwordFile) }
        \(secrets)
        """, to: path)
        return path
    }

    @Test("a release whose app never hits its cache fails 'hit_rate > 70%' over the load test, while the server's lifetime counters pass the same bound")
    func cacheBypassFailsTheWindowedHitRate() async throws {
        let redis = try await RedisLab(app: true)
        let environment = Self.environment(redis)
        let runbook = redis.dir + "/cache.yml"
        CLI.write("""
        version: 1
        runbook: cache
        params:
          release: { type: string, required: true }
        targets: web
        steps:
          - id: ship
            release: { artifact: "{{ vars.artifacts }}/app-{{ params.release }}.tar.gz", path: "{{ vars.app_dir }}", id: "{{ params.release }}" }
          - service: { manager: supervisor, action: restart, name: app, config: "{{ vars.supervisor_config }}" }
          - health: { url: "{{ vars.app_url }}/api/health", within: 20s }
          # The server's history: v1 served three times the next load test's lookups from its cache.
          - name: earlier traffic
            when: "params.release == 'v1'"
            benchmark:
              base_url: "{{ vars.app_url }}"
              phases: [{ duration: 6s, rate: 100 }]
              scenarios: [{ get: /api/state-machine/diagram, expect_status: 200 }]
          - id: load
            benchmark:
              base_url: "{{ vars.app_url }}"
              phases: [{ duration: 4s, rate: 50 }]
              scenarios:
                - { get: /api/state-machine/diagram, weight: 1, expect_status: 200 }
                - { get: /api/state-machine/metadata, weight: 1, expect_status: 200 }
          - name: Lifetime counters alone
            redis: { url: "{{ vars.redis_url }}", password: "{{ secrets.redis_password }}", expect: "lifetime_hit_rate > 70%" }
          - name: Cache hit rate over the load test
            label: Cache hit rate
            redis: { url: "{{ vars.redis_url }}", password: "{{ secrets.redis_password }}", expect: "hit_rate > 70%", over: load }
        """, to: runbook)
        let state = redis.dir + "/state"
        let v1 = try await CLI.run(["run", runbook, "-e", environment, "-p", "release=v1", "--state", state, "--yes"])
        #expect(v1.status == 0, "v1 (cache on) passes: \(v1.stdout) \(v1.stderr)")
        #expect(v1.stdout.contains("Cache hit rate over the load test: succeeded"), "\(v1.stdout)")

        let nocache = try await CLI.run(["run", runbook, "-e", environment, "-p", "release=v2-nocache", "--state", state, "--yes"])
        #expect(nocache.status == 1, "\(nocache.stdout) \(nocache.stderr)")
        let lines = nocache.stdout.split(separator: "\n").map(String.init)
        let lifetime = lines.first { $0.contains("Lifetime counters alone:") } ?? ""
        let windowed = lines.first { $0.contains("Cache hit rate over the load test:") } ?? ""
        #expect(lifetime.contains("succeeded") && lifetime.contains("lifetime_hit_rate = "), "lifetime: \(lifetime)")
        #expect(windowed.contains("failed") && windowed.contains("hit_rate = 0%"), "windowed: \(windowed)")
        print("figures: v1 \(v1.stdout.split(separator: "\n").filter { $0.contains("hit_rate") }.joined(separator: " | "))")
        print("figures: v2-nocache \(lifetime) | \(windowed)")

        // The evidence names the window, and the password is nowhere in what Marshal kept or printed.
        let shown = try await CLI.run(["show", "last", "--state", state, "--output", "json"])
        #expect(shown.stdout.contains("window") && shown.stdout.contains("rate_per_minute"), "window evidence: \(shown.stdout.suffix(3000))")
        #expect(shown.stdout.contains("keyspace_misses"))
        let kept = (try? FileManager.default.subpathsOfDirectory(atPath: state)) ?? []
        for file in kept {
            let data = FileManager.default.contents(atPath: state + "/" + file) ?? Data()
            #expect(!String(decoding: data, as: UTF8.self).contains(redis.password), "password in \(file)")
        }
        #expect(!(v1.stdout + v1.stderr + nocache.stdout + nocache.stderr + shown.stdout).contains(redis.password))
    }

    @Test("the shipped queue-workers runbook: v2 passes; a v2 whose worker stops consuming fails queue_depth < 50 and rate(processed) > 100/min in one window, and the rollback (004's order) restarts the old workers")
    func stuckWorkerIsRolledBack() async throws {
        let redis = try await RedisLab(app: true)
        let pg = try await TestPostgres.shared()
        let database = try await pg.database()
        let secret = redis.dir + "/database-url"
        CLI.write(database, to: secret)
        chmod(secret, 0o600)
        let migrations = redis.dir + "/migrations"
        try FileManager.default.createDirectory(atPath: migrations, withIntermediateDirectories: true)
        CLI.write("create table job_batches (id text primary key, total_jobs int not null);\n", to: migrations + "/001_job_batches.sql")
        try await TestPostgres.run("create table jobs_seen (id int primary key); insert into jobs_seen values (1), (2)", url: database)
        let environment = Self.environment(redis, extra: "  migrations_dir: \(migrations)\n  backup_dir: \(redis.dir)/backups",
                                           secrets: "  database_url: { file: \(secret) }")
        let runbook = CLI.root + "/Runbooks/queue-workers.yml"
        let validate = try await CLI.run(["validate", runbook, "-e", environment])
        #expect(validate.status == 0, "\(validate.stdout) \(validate.stderr)")
        #expect(try await eventually(within: 20, every: .milliseconds(100)) { try await redis.number("stats:processed") > 0 }, "the v1 worker consumes")

        let state = redis.dir + "/state"
        let good = try await CLI.run(["run", runbook, "-e", environment, "-p", "release=v2", "-p", "artifact_dir=\(redis.artifacts)",
                                      "--state", state, "--yes"], timeout: 180)
        #expect(good.status == 0, "\(good.stdout) \(good.stderr)")
        let goodGate = good.stdout.split(separator: "\n").first { $0.contains("Workers keep up with the queue:") } ?? ""
        #expect(goodGate.contains("succeeded"), "\(goodGate)")
        print("figures: v2 \(goodGate)")
        #expect(try await eventually(within: 10, every: .milliseconds(100)) { try await redis.status("worker").contains("RUNNING") })
        let goodPid = try await redis.status("worker")

        let stuck = try await CLI.run(["run", runbook, "-e", environment, "-p", "release=v2-stuck", "-p", "artifact_dir=\(redis.artifacts)",
                                       "--state", state, "--yes"], timeout: 180)
        #expect(stuck.status == 1, "\(stuck.stdout) \(stuck.stderr)")
        let gate = stuck.stdout.split(separator: "\n").first { $0.contains("Workers keep up with the queue:") } ?? ""
        print("figures: v2-stuck \(gate)")
        #expect(gate.contains("failed") && gate.contains("rate(processed) = 0/s (0/min)"), "\(gate)")
        if let depth = gate.range(of: #"queue_depth = (\d+)"#, options: .regularExpression) {
            let value = Int(gate[depth].split(separator: " ").last ?? "") ?? 0
            #expect(value >= 50, "the queue grew past 50 within the window: \(gate)")
        } else {
            Issue.record("no queue_depth in \(gate)")
        }

        // The rollback ran 004's plan in 004's order, and the old release's worker runs again and drains the queue.
        let shown = try await ShownRun.load("last", state: state)
        #expect(shown.run.status == "rolled_back", "\(shown.run)")
        let rollback = shown.steps.filter { $0.name.hasPrefix("rollback: ") }.map { String($0.name.dropFirst("rollback: ".count)) }
        #expect(rollback == ["Stop the queue workers", "Previous release", "Restore the database from the backup", "Start the queue workers"],
                "\(shown.steps.map { "\($0.phase) \($0.name) \($0.status)" })")
        let current = try FileManager.default.destinationOfSymbolicLink(atPath: redis.appDir + "/current")
        #expect(current == "releases/v2", "current → \(current)")
        let worker = try await redis.status("worker")
        #expect(worker.contains("RUNNING") && worker != goodPid, "restarted: \(worker)")
        let log = (try? String(contentsOfFile: redis.appDir + "/shared/worker.log", encoding: .utf8)) ?? ""
        #expect(log.split(separator: "\n").last { $0.contains("consuming") }?.contains("worker v2 consuming queues:default") == true, "\(log.suffix(400))")
        #expect(try await eventually(within: 30, every: .milliseconds(100)) { Int(try await redis.cli(["LLEN", "queues:default"])) ?? 99 < 10 }, "the old workers drain the queue")
        #expect(shown.steps.filter { $0.name.hasPrefix("rollback: ") }.allSatisfy { $0.status == "succeeded" },
                "\(shown.steps.map { "\($0.phase) \($0.name) \($0.status) \($0.message ?? "")" })")
        #expect(try await TestPostgres.run("select count(*) from jobs_seen", url: database) == "2", "the database as backed up")
    }
}
