import Foundation
import MarshalTestSupport
import Testing

/// The redis gate's edges against a real Redis: through redis-cli with `on:`, a wrong password, a
/// server that stops answering, and the mistakes `validate` catches; and `over:` on a probe.
@Suite("Redis checks", .serialized)
struct RedisCheckTests {
    static func environment(_ redis: RedisLab, password: String? = nil) -> String {
        var secrets = "  redis_password: { file: \(redis.passwordFile) }"
        if let password {
            let path = redis.dir + "/wrong-password"
            CLI.write(password + "\n", to: path)
            secrets = "  redis_password: { file: \(path) }"
        }
        let path = redis.dir + "/env-\(password == nil ? "ok" : "wrong").yml"
        CLI.write("""
        version: 1
        environment: redis-check
        transport: local
        hosts:
          web1: { address: 127.0.0.1, roles: [web] }
        vars: { redis_url: "\(redis.url)" }
        secrets:
        \(secrets)
        """, to: path)
        return path
    }

    static func runbook(_ redis: RedisLab, _ name: String, _ steps: String) -> String {
        let path = redis.dir + "/\(name).yml"
        CLI.write("version: 1\nrunbook: \(name)\ntargets: web\nsteps:\n" + steps, to: path)
        return path
    }

    @Test("with on:, redis-cli on the host reads the same values over TCP would, and the password is in no process's argument list")
    func throughRedisCLI() async throws {
        let redis = try await RedisLab(app: false)
        _ = try await redis.cli(["RPUSH", "queues:default", "a", "b", "c"])
        _ = try await redis.cli(["ZADD", "failed_jobs", "1", "job-1"])
        _ = try await redis.cli(["SET", "stats:processed", "42"])
        let keys = #"queues: [default], keys: { failed: { zcard: failed_jobs }, processed: { get: "stats:processed" }, missing: { get: nothing } }"#
        let runbook = Self.runbook(redis, "cli", """
          - name: over tcp
            redis: { url: "{{ vars.redis_url }}", password: "{{ secrets.redis_password }}", \(keys), expect: "queue_depth == 3 and failed == 1 and processed == 42 and connected_clients >= 1" }
          - name: through redis-cli
            redis: { on: web1, url: "{{ vars.redis_url }}", password: "{{ secrets.redis_password }}", \(keys), expect: "queue_depth == 3 and failed == 1 and processed == 42 and connected_clients >= 1" }
          - name: watched through redis-cli
            soak:
              duration: 4s
              interval: 50ms
              gates:
                - redis: { on: web1, url: "{{ vars.redis_url }}", password: "{{ secrets.redis_password }}", queues: [default], expect: "queue_depth == 3" }
          - name: a missing key is no data
            redis: { on: web1, url: "{{ vars.redis_url }}", password: "{{ secrets.redis_password }}", \(keys), expect: "missing > 0" }
            ignore_failure: true
        """)
        let sampler = ProcessListSampler()
        let result = try await CLI.run(["run", runbook, "-e", Self.environment(redis), "--state", redis.dir + "/state", "--yes"])
        let seen = sampler.stop()
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("over tcp: succeeded") && result.stdout.contains("through redis-cli: succeeded"), "\(result.stdout)")
        #expect(result.stdout.contains("inconclusive: no data"), "a missing key: \(result.stdout)")
        #expect(seen.contains { $0.contains("redis-cli") }, "the sampler saw redis-cli run (\(seen.count) command lines)")
        #expect(!seen.contains { $0.contains(redis.password) }, "the password was in a command line")
        #expect(!(result.stdout + result.stderr).contains(redis.password))
    }

    @Test("a wrong password fails the check saying so, without printing either password; a stopped server times out")
    func wrongPasswordAndHungServer() async throws {
        let redis = try await RedisLab(app: false)
        let wrong = "wrong-" + UUID().uuidString
        let runbook = Self.runbook(redis, "auth", """
          - name: cache
            redis: { url: "{{ vars.redis_url }}", password: "{{ secrets.redis_password }}", expect: "hit_rate > 70%", request_timeout: 2s }
        """)
        let refused = try await CLI.run(["run", runbook, "-e", Self.environment(redis, password: wrong), "--state", redis.dir + "/s1", "--yes"])
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("authentication failed"), "\(refused.stdout)")
        #expect(!(refused.stdout + refused.stderr).contains(wrong) && !(refused.stdout + refused.stderr).contains(redis.password))

        let pid = pid_t(redis.values["REDIS_PID"] ?? "") ?? 0
        try #require(pid > 0)
        kill(pid, SIGSTOP)
        defer { kill(pid, SIGCONT) }
        let started = Date()
        let hung = try await CLI.run(["run", runbook, "-e", Self.environment(redis), "--state", redis.dir + "/s2", "--yes"])
        let seconds = Date().timeIntervalSince(started)
        #expect(hung.status == 1)
        #expect(hung.stdout.contains("no answer within 2s"), "\(hung.stdout)")
        #expect(seconds < 30, "bounded by request_timeout, took \(seconds) s")
    }

    @Test("validate names each windowing and redis mistake at its place")
    func validateMistakes() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/bad.yml"
        CLI.write("""
        version: 1
        runbook: bad
        targets: web
        steps:
          - name: rate without a window
            probe: { command: "echo 1", expect: "rate(value) > 100/min" }
          - name: window over a later step
            probe: { command: "echo 1", expect: "delta(value) >= 0", over: later }
          - id: later
            redis: { url: "redis://:hunter2@127.0.0.1:6379/0", expect: "hits > 0" }
          - redis: { url: "redis://127.0.0.1/0", password: hunter2, keys: { hit_rate: { get: x } } }
          - redis: { url: "rediss://cache:6380", keys: { depth: { llen: a, zcard: b } } }
          - wait: { duration: 1s }
          - probe: { command: "echo 1", expect: "value / 0 > 1" }
        """, to: path)
        let result = try await CLI.run(["validate", path])
        #expect(result.status == 2, "\(result.stdout) \(result.stderr)")
        let out = result.stdout + result.stderr
        for expected in ["bad.yml:6:", "needs a window", "over: later", "comes after this one",
                         "bad.yml:10:", "holds a password written in the runbook",
                         "'password' is written in the runbook", "'hit_rate' is a value every redis check has",
                         "unsupported scheme 'rediss'", "needs exactly one of llen",
                         "division by zero"] {
            #expect(out.contains(expected), "missing '\(expected)' in: \(out)")
        }
        #expect(!out.contains("hunter2") || out.contains("'password' is written"), "\(out)")
    }

    @Test("over: 2s on a probe: rate(value) of a millisecond clock is 1000/s within 10 %, with start, end and delta as evidence")
    func probeWindow() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let environment = CLI.localEnvironment(dir, name: "window")
        let path = dir + "/window.yml"
        CLI.write("""
        version: 1
        runbook: window
        targets: all
        steps:
          - name: clock
            probe: { command: "echo $(( $(date +%s%N) / 1000000 ))", expect: "rate(value) > 900/s and rate(value) < 1100/s and delta(value) > 1500", over: 2s }
        """, to: path)
        let result = try await CLI.run(["run", path, "-e", environment, "--state", dir + "/state", "--yes"])
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("rate(value) = "), "\(result.stdout)")
        let shown = try await CLI.run(["show", "last", "--state", dir + "/state", "--output", "json"])
        #expect(shown.stdout.contains("rate_per_minute") && shown.stdout.contains("delta"), "\(shown.stdout.prefix(3000))")
    }
}
