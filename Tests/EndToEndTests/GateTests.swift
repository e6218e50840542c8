import Foundation
import MarshalTestSupport
import Testing

/// A gate app (scripts/testing/gate-app.py) on 127.0.0.1, started for one test and stopped by PID.
final class GateApp: ScriptedApp, @unchecked Sendable {
    init() async throws { try await super.init(script: "gate-app.py", ttl: 90, []) }
}

@Suite("Gates", .serialized)
struct GateTests {
    func runbook(_ steps: String, in dir: String, onFailure: String = "stop") -> String {
        let path = dir + "/gates.yml"
        CLI.write("""
        version: 1
        runbook: gates
        targets: all
        steps:
        \(steps)
        on_failure: \(onFailure)
        """, to: path)
        return path
    }

    /// `marshal show last --output json` for the journal in `dir/state`.
    func shownLast(_ dir: String) async throws -> [String: Any] {
        let shown = try await CLI.run(["show", "last", "--state", dir + "/state", "--output", "json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any], "\(shown.stderr)")
    }

    func localEnvironment(_ dir: String) -> String { CLI.localEnvironment(dir, name: "gates") }

    @Test("health that turns healthy after 3 s passes a within: 10s gate, each attempt recorded")
    func turnsHealthy() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let path = runbook("""
          - health: { url: "\(app.url)/healthy-after/3", expect: { status: 200, json: { "$.status": healthy } }, within: 10s }
        """, in: dir)
        let result = try await CLI.run(["run", path, "-e", localEnvironment(dir), "--state", dir + "/state"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        // The gate's own time, from the journal (process start-up is not the gate's).
        let json = try await shownLast(dir)
        let step = try #require((json["steps"] as? [[String: Any]])?.first)
        let elapsed = try #require(step["endedAt"] as? Double) - (try #require(step["startedAt"] as? Double))
        #expect(elapsed > 2.5 && elapsed < 8, "passed after \(elapsed) s")
        let attempts = (json["measurements"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "health" }
        #expect(attempts.count >= 3, "every attempt is evidence")
        #expect(attempts.last?["outcome"] as? String == "passed")
        #expect(attempts.dropLast().allSatisfy { $0["outcome"] as? String == "failed" })
    }

    // "health that never turns healthy fails at the 10 s deadline" is an engine test now
    // (EngineTests DeadlineTests/neverHealthy): exact on a manual clock, in milliseconds.

    @Test("a server that hangs cannot hold a within: gate past its deadline by more than a second")
    func hangingServer() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let path = runbook("""
          - health: { url: "\(app.url)/slow/8000", expect: 200, within: 2s, request_timeout: 30s }
        """, in: dir)
        let result = try await CLI.run(["run", path, "-e", localEnvironment(dir), "--state", dir + "/state"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("within 2s ran out"), "\(result.stdout)")
        let shown = try await shownLast(dir)
        let step = try #require((shown["steps"] as? [[String: Any]])?.first)
        let elapsed = try #require(step["endedAt"] as? Double) - (try #require(step["startedAt"] as? Double))
        #expect(elapsed < 4.5, "decided after \(elapsed) s, not after the server's 8 s")
    }

    @Test("a 503 with per-service status names the unhealthy service")
    func namesService() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let path = runbook("""
          - health: { url: "\(app.url)/degraded", expect: 200 }
        """, in: dir)
        let result = try await CLI.run(["run", path, "-e", localEnvironment(dir), "--state", dir + "/state"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("status 503, expected 200"))
        #expect(result.stdout.contains("unhealthy services: redis (down)"))
        #expect(!result.stdout.contains("database (healthy)"))
    }

    @Test("a health check with on: runs from that host with its curl, and judges the answer the same way")
    func fromHost() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let path = runbook("""
          - name: from the host
            health: { on: here, url: "\(app.url)/healthy-after/0", expect: { status: 200, json: { "$.status": healthy } } }
          - name: degraded from the host
            health: { on: here, url: "\(app.url)/degraded", expect: 200 }
        """, in: dir)
        let result = try await CLI.run(["run", path, "-e", localEnvironment(dir), "--state", dir + "/state"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("[here] 1. from the host: succeeded"))
        #expect(result.stdout.contains("[here] 2. degraded from the host: failed"))
        #expect(result.stdout.contains("unhealthy services: redis (down)"))
    }

    // The soak's timing over a whole 20 s (a breach seen within one interval) is an engine test
    // (EngineTests DeadlineTests/soakBreach); this one is the user story on a real server: a
    // short soak breaches, rollback fires, the webhooks say so.
    @Test("a soak every 1 s fails within one interval of the endpoint turning 500 at second 3, and rollback fires")
    func soak() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let path = runbook("""
          - name: tell the channel
            notify: { url: "\(app.url)/hook", events: [start, failure, rollback, success] }
          - name: switch
            shell: "echo switched >> {{ host.vars.dir }}/log"
            undo: { shell: "echo undone >> {{ host.vars.dir }}/log" }
          - name: watch
            soak:
              duration: 10s
              interval: 1s
              gates:
                - health: { url: "\(app.url)/fails-after/3", expect: 200 }
        """, in: dir, onFailure: "rollback")
        let result = try await CLI.run(["run", path, "-e", localEnvironment(dir), "--state", dir + "/state"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("soak breached"))
        // When the soak step ended (the journal's clock), against when the endpoint turned 500:
        // within one 1 s interval. The endpoint turns 3 s after its first request, which the soak
        // sends as its step starts. Process start, rollback and webhooks are not the soak's time.
        let json = try await shownLast(dir)
        let watch = try #require((json["steps"] as? [[String: Any]])?.first { $0["name"] as? String == "watch" })
        let started = try #require(watch["startedAt"] as? Double)
        let ended = try #require(watch["endedAt"] as? Double)
        let delay = ended - (started + 3)
        #expect(delay > -0.3 && delay <= 1.3, "the breach was seen \(delay) s after the endpoint turned 500")
        #expect(result.stderr.contains("rolled back: switch on here"))
        #expect((try? String(contentsOfFile: dir + "/log", encoding: .utf8)) == "switched\nundone\n")
        let hooks = try await Shell.run(["/usr/bin/curl", "-s", "\(app.url)/hook"]).stdout
        let events = try #require(try JSONSerialization.jsonObject(with: Data(hooks.utf8)) as? [[String: Any]]).compactMap { $0["event"] as? String }
        #expect(events == ["start", "failure", "rollback"], "webhooks at the moments asked for")
    }

    @Test("abort_on_fail stops an open-loop load test as soon as p95 < 50ms can no longer pass")
    func abortEarly() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let path = runbook("""
          - name: load
            benchmark:
              base_url: "\(app.url)"
              phases: [ { duration: 10s, rate: 20 } ]
              scenarios: [ { get: /slow/100 } ]
              thresholds: { p95: "< 50ms" }
              abort_on_fail: true
        """, in: dir)
        let start = Date()
        let result = try await CLI.run(["run", path, "-e", localEnvironment(dir), "--state", dir + "/state"])
        let elapsed = Date().timeIntervalSince(start)
        #expect(result.status == 1)
        #expect(result.stdout.contains("stopped early: p95 < 50ms can no longer pass"), "\(result.stdout)")
        #expect(elapsed < 6, "a 10 s plan stopped after \(elapsed) s")
    }

    @Test("a benchmark's evidence in the journal holds its histograms, per-second series and every threshold verdict")
    func benchmarkEvidence() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let path = runbook("""
          - name: load
            benchmark:
              base_url: "\(app.url)"
              phases: [ { duration: 2s, rate: 50 } ]
              scenarios: [ { name: slow, get: /slow/5 } ]
              thresholds: { p95: "< 2s", error_rate: "< 1%" }
        """, in: dir)
        let result = try await CLI.run(["run", path, "-e", localEnvironment(dir), "--state", dir + "/state"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let json = try await shownLast(dir)
        let measurements = json["measurements"] as? [[String: Any]] ?? []
        let verdicts = measurements.filter { $0["kind"] as? String == "threshold" }
        #expect(Set(verdicts.compactMap { $0["name"] as? String }) == ["p95", "error_rate"])
        #expect(verdicts.allSatisfy { $0["outcome"] as? String == "passed" && $0["expectation"] != nil })
        let bench = try #require(measurements.first { $0["kind"] as? String == "benchmark" })
        let payload = try #require((bench["payload"] ?? bench["payloadJSON"]).flatMap { value -> [String: Any]? in
            if let object = value as? [String: Any] { return object }
            return (value as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        })
        let overall = try #require(payload["overall"] as? [String: Any])
        let histogram = try #require(overall["latencyHistogram"] as? [String: Any])
        let buckets = try #require(histogram["buckets"] as? [[Int]])
        #expect(buckets.map { $0[1] }.reduce(0, +) == 100, "every one of the 100 answers is in the histogram")
        #expect(buckets.allSatisfy { $0[0] >= 5000 }, "no latency under the endpoint's 5 ms delay")
        #expect(overall["serviceTimeHistogram"] is [String: Any])
        let scenario = try #require((payload["scenarios"] as? [[String: Any]])?.first)
        #expect(scenario["latencyHistogram"] is [String: Any])
        let seconds = try #require(payload["perSecond"] as? [[String: Any]])
        #expect(seconds.count >= 2)
        #expect(seconds.compactMap { $0["sent"] as? Int }.reduce(0, +) == 100)
    }

    @Test("--junit writes every gate of the run as a JUnit test case, a failed threshold as a failure with its figures")
    func junit() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let path = runbook("""
          - name: healthy
            health: { url: "\(app.url)/healthy-after/0", expect: 200, within: 5s }
          - name: optional cleanup
            shell: "exit 3"
            ignore_failure: true
          - name: load
            benchmark:
              base_url: "\(app.url)"
              phases: [ { duration: 1s, rate: 20 } ]
              scenarios: [ { get: /slow/5 } ]
              thresholds: { p95: "< 1ms", error_rate: "< 1%" }
        """, in: dir)
        let xmlPath = dir + "/gates.xml"
        let result = try await CLI.run(["run", path, "-e", localEnvironment(dir), "--state", dir + "/state", "--junit", xmlPath])
        #expect(result.status == 1)
        let xml = try String(contentsOfFile: xmlPath, encoding: .utf8)
        #expect(xml.contains(#"tests="3" failures="1" errors="0" skipped="0""#), "\(xml)")
        #expect(xml.contains(#"<testcase classname="gates.healthy (batch 1)" name="health GET \#(app.url)/healthy-after/0 on here: status in [200]""#), "\(xml)")
        #expect(xml.contains(#"name="p95: p95 &lt; 1ms""#))
        #expect(xml.contains(#"<failure message="measured "#) && xml.contains("expected p95 &lt; 1ms"))
        #expect(xml.contains(#"<property name="status" value="failed"/>"#))
        #expect(!xml.contains("optional cleanup"), "an ignored failure is not a failed gate")
        let parsed = try await Shell.run(["/usr/bin/python3", "-c", "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1]); print('ok')", xmlPath])
        #expect(parsed.stdout == "ok\n", "well-formed XML: \(parsed.stderr)")

        let refused = try await CLI.run(["run", path, "-e", localEnvironment(dir), "--state", dir + "/state2", "--junit", dir + "/missing/gates.xml"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--junit \(dir)/missing/gates.xml: the folder \(dir)/missing does not exist"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/state2/journal.sqlite"), "nothing ran")

        // A run that cannot start (the lock is held) keeps exit 3 and writes no file.
        let waiting = runbook("""
          - wait: 60s
        """, in: dir)
        let holder = try CLI.start(["run", waiting, "-e", localEnvironment(dir), "--state", dir + "/state3"])
        // Until the holder has the lock (polled: a fixed pause was outrun by a loaded machine).
        _ = try await eventually(within: 60, every: .milliseconds(100)) {
            try await CLI.run(["lock", "status", "-e", localEnvironment(dir), "--state", dir + "/state3"]).stdout.contains("locked by")
        }
        let locked = try await CLI.run(["run", waiting, "-e", localEnvironment(dir), "--state", dir + "/state3", "--junit", dir + "/locked.xml"])
        #expect(locked.status == 3, "\(locked.stderr)")
        #expect(locked.stderr.contains("is locked by"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/locked.xml"))
        kill(holder, SIGINT)
        _ = await Spawn.waitAsync(holder, timeout: 30)
    }

    @Test("marshal bench prints a wrk-like summary, exits 1 when a threshold fails, 2 on bad input, and writes --junit")
    func benchCommand() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let url = app.url + "/slow/5"
        let failing = try await CLI.run(["bench", url, "-c", "2", "-d", "1s", "--threshold", "p95 < 1ms", "--threshold", "error_rate < 1%",
                                         "--junit", dir + "/bench.xml"])
        #expect(failing.status == 1, "\(failing.stdout)\(failing.stderr)")
        #expect(failing.stdout.contains("closed-loop test @ \(url)"))
        #expect(failing.stdout.contains("Requests/sec:"))
        let xml = try String(contentsOfFile: dir + "/bench.xml", encoding: .utf8)
        #expect(xml.contains(#"tests="2" failures="1""#), "\(xml)")
        #expect(xml.contains("expected p95 &lt; 1ms"))

        let passing = try await CLI.run(["bench", url, "--rate", "20", "-d", "1s", "--threshold", "p95 < 2s", "--output", "json"])
        #expect(passing.status == 0, "\(passing.stdout)\(passing.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(passing.stdout.utf8)) as? [String: Any])
        let overall = try #require((json["result"] as? [String: Any])?["overall"] as? [String: Any])
        #expect(overall["count"] as? Int == 20)

        let badThreshold = try await CLI.run(["bench", url, "-d", "1s", "--threshold", "p95 <"])
        #expect(badThreshold.status == 2)
        #expect(badThreshold.stderr.contains("--threshold #1"))
        let badScheme = try await CLI.run(["bench", "ftp://127.0.0.1/x", "-d", "1s"])
        #expect(badScheme.status == 2)
        #expect(badScheme.stderr.contains("must start with http:// or https://"))
    }

    @Test("probe gates: a number extracted and checked; no match is inconclusive and on_no_data fails, passes or pauses for --approve")
    func probeAndNoData() async throws {
        let dir = CLI.temporaryDirectory()
        let env = localEnvironment(dir)
        let path = runbook("""
          - name: queue depth
            probe: { command: "echo 'queue depth: 42'", regex: "depth: ([0-9]+)", expect: "value < 50" }
          - name: optional metric
            probe: { command: "echo nothing here", regex: "depth: ([0-9]+)", expect: "value < 50", on_no_data: pass }
          - name: cache hit rate
            probe: { command: "echo no figure yet", regex: "hit rate: ([0-9.]+)", expect: "value > 0.7", on_no_data: pause }
          - name: after the pause
            shell: "echo done > \(dir)/after"
        """, in: dir)
        let paused = try await CLI.run(["run", path, "-e", env, "--state", dir + "/state"])
        #expect(paused.status == 0, "\(paused.stdout)\(paused.stderr)")
        #expect(paused.stderr.contains("--approve 'cache hit rate'"), "\(paused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/after"), "nothing after the paused gate ran")
        let json = try await shownLast(dir)
        #expect((json["run"] as? [String: Any])?["status"] as? String == "paused")
        let probes = (json["measurements"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "probe" }
        #expect(probes.map { $0["outcome"] as? String } == ["passed", "inconclusive", "inconclusive"], "\(probes)")
        #expect(probes.first?["value"] as? Double == 42)

        let resumed = try await CLI.run(["resume", "last", "--state", dir + "/state", "--approve", "cache hit rate"])
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir + "/after"))
        #expect(resumed.stdout.contains("accepted with --approve"), "\(resumed.stdout)")

        let failing = runbook("""
          - name: queue depth
            probe: { command: "echo nothing", regex: "depth: ([0-9]+)", expect: "value < 50" }
        """, in: dir)
        let failed = try await CLI.run(["run", failing, "-e", env, "--state", dir + "/state"])
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("inconclusive: no data; on_no_data: fail"), "\(failed.stdout)")
    }

    @Test("check --health GETs each host's base_url and the environment's; a non-2xx answer exits 1 naming it")
    func checkHealth() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        func environment(_ hosts: String) -> String {
            CLI.write("""
            version: 1
            environment: checked
            transport: local
            hosts:
            \(hosts)
            vars: { base_url: "\(app.url)/healthy-after" }
            """, to: dir + "/env.yml")
            return dir + "/env.yml"
        }
        let mixed = environment("""
          good: { address: 127.0.0.1, vars: { base_url: "\(app.url)/healthy-after" } }
          bad: { address: 127.0.0.1, vars: { base_url: "\(app.url)/fails-after" } }
          db: { address: 127.0.0.1 }
        """)
        let result = try await CLI.run(["check", "-e", mixed, "--health", "/0"])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("good ") && $0.contains(" ok ") && $0.contains("health 200") && $0.contains("/healthy-after/0") })
        #expect(lines.contains { $0.hasPrefix("bad ") && $0.contains("health 500") && $0.contains("expected a 2xx answer") })
        #expect(lines.contains { $0.hasPrefix("db ") && !$0.contains("health") }, "a host without base_url is only connected to")
        #expect(lines.contains { $0.hasPrefix("environment ") && $0.contains("health 200") })

        let json = try await CLI.run(["check", "-e", mixed, "--health", "/0", "--output", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let hosts = try #require(object["hosts"] as? [[String: Any]])
        #expect(hosts.compactMap { ($0["health"] as? [String: Any])?["status"] as? Int }.sorted() == [200, 500])
        #expect((object["environmentHealth"] as? [String: Any])?["passed"] as? Bool == true)

        let healthy = environment("""
          good: { address: 127.0.0.1, vars: { base_url: "\(app.url)/healthy-after" } }
        """)
        #expect(try await CLI.run(["check", "-e", healthy, "--health", "/0"]).status == 0)
        #expect(try await CLI.run(["check", "-e", healthy]).stdout.contains("health") == false, "no --health, no HTTP")
    }

    @Test("every request refused: a p95 threshold has no data and fails saying so, and no latency is printed as a number")
    func noAnswerNoLatency() async throws {
        let dir = CLI.temporaryDirectory()
        // A port nobody listens on: every request is refused.
        let closed = "http://127.0.0.1:9"
        let path = runbook("""
          - name: load
            benchmark:
              base_url: "\(closed)"
              phases: [ { duration: 500ms, rate: 20 } ]
              scenarios: [ { get: / } ]
              thresholds: { p95: "< 500ms" }
        """, in: dir)
        let result = try await CLI.run(["run", path, "-e", localEnvironment(dir), "--state", dir + "/state"])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("p50 not measured, p95 not measured"), "\(result.stdout)")
        #expect(result.stdout.contains("no data"), "\(result.stdout)")
        let bench = try await CLI.run(["bench", closed + "/", "-c", "1", "-d", "300ms", "--threshold", "p95 < 500ms"])
        #expect(bench.status == 1)
        #expect(bench.stdout.contains("Latency distribution: not measured"), "\(bench.stdout)")
        #expect(!bench.stdout.contains("50%"))
    }

    @Test("Ctrl-C during a load test: the run is recorded as aborted with the step's evidence, and the lock is released")
    func interruptedLoad() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let path = runbook("""
          - name: long load
            benchmark:
              base_url: "\(app.url)"
              phases: [ { duration: 30s, rate: 20 } ]
              scenarios: [ { get: /slow/1 } ]
              thresholds: { p95: "< 2s" }
        """, in: dir)
        let env = localEnvironment(dir)
        let pid = try CLI.start(["run", path, "-e", env, "--state", dir + "/state"])
        // Until the journal says the load test started (polled), then let it send for a second.
        _ = try await eventually(within: 60, every: .milliseconds(100)) {
            try await CLI.run(["show", "last", "--state", dir + "/state", "--output", "json"]).stdout.contains("\"long load\"")
        }
        try await Task.sleep(for: .seconds(1))
        kill(pid, SIGINT)
        let status = await Spawn.waitAsync(pid, timeout: 10)
        #expect(status == 1, "exit status \(String(describing: status))")
        let json = try await shownLast(dir)
        let run = try #require(json["run"] as? [String: Any])
        #expect(run["status"] as? String == "aborted", "\(run)")
        let steps = json["steps"] as? [[String: Any]] ?? []
        #expect(steps.first?["status"] as? String == "failed")
        #expect((steps.first?["message"] as? String)?.contains("interrupted before the planned end") == true, "\(steps)")
        let bench = try #require((json["measurements"] as? [[String: Any]] ?? []).first { $0["kind"] as? String == "benchmark" })
        let rate = try #require(bench["value"] as? Double)
        #expect(rate > 15 && rate < 25, "req/s over the time it ran, not over the planned 30 s: \(rate)")
        let lock = try await CLI.run(["lock", "status", "-e", env, "--state", dir + "/state"])
        #expect(lock.stdout.contains("not locked"), "\(lock.stdout)")
    }

    @Test("after Ctrl-C, resume goes on from the interrupted step; finished steps do not run again; a failed change is asked about")
    func resumeAfterCtrlC() async throws {
        let dir = CLI.temporaryDirectory()
        let path = runbook("""
          - name: one
            shell: "echo one >> \(dir)/marks"
          - name: pause a while
            wait: 5s
          - name: two
            shell: "echo two >> \(dir)/marks"
        """, in: dir)
        let pid = try CLI.start(["run", path, "-e", localEnvironment(dir), "--state", dir + "/state"])
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && !FileManager.default.fileExists(atPath: dir + "/marks") { try? await Task.sleep(for: .milliseconds(50)) }
        try await Task.sleep(for: .milliseconds(300))
        kill(pid, SIGINT)
        _ = await Spawn.waitAsync(pid, timeout: 10)
        let stopped = try await CLI.run(["runs", "--state", dir + "/state"])
        #expect(stopped.stdout.contains("aborted"), "\(stopped.stdout)")

        let resumed = try await CLI.run(["resume", "last", "--state", dir + "/state"])
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
        let marks = try String(contentsOfFile: dir + "/marks", encoding: .utf8)
        #expect(marks == "one\ntwo\n", "each change ran once: \(marks)")

        // A change that failed as Ctrl-C came: resume will not guess, it asks for --rerun or --skip.
        let failing = runbook("""
          - name: change that fails
            shell: "sleep 2; exit 1"
          - name: after
            shell: "echo after >> \(dir)/after"
        """, in: dir)
        let second = try CLI.start(["run", failing, "-e", localEnvironment(dir), "--state", dir + "/state2"])
        try await Task.sleep(for: .seconds(1))
        kill(second, SIGINT)
        _ = await Spawn.waitAsync(second, timeout: 10)
        let refused = try await CLI.run(["resume", "last", "--state", dir + "/state2"])
        #expect(refused.status == 3)
        #expect(refused.stderr.contains("'change that fails' (shell) had failed on here"), "\(refused.stderr)")
        let skipped = try await CLI.run(["resume", "last", "--state", dir + "/state2", "--skip", "change that fails"])
        #expect(skipped.status == 0, "\(skipped.stdout)\(skipped.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir + "/after"))
    }

    @Test("a soak's probe gate runs on its host: given by the gate's on:, or the soak's own; without either it is refused by validate")
    func soakProbe() async throws {
        let dir = CLI.temporaryDirectory()
        CLI.write("7\n", to: dir + "/depth")
        let path = runbook("""
          - name: watch the queue
            soak:
              duration: 2s
              interval: 1s
              gates:
                - on: here
                  probe: { command: "cat \(dir)/depth", regex: "([0-9]+)", expect: "value < 50" }
          - name: watch from the host
            on: here
            soak:
              duration: 1s
              interval: 1s
              gates:
                - probe: { command: "cat \(dir)/depth", regex: "([0-9]+)", expect: "value < 5" }
        """, in: dir)
        let result = try await CLI.run(["run", path, "-e", localEnvironment(dir), "--state", dir + "/state"])
        #expect(result.status == 1, "the second soak's gate breaches: \(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("1. watch the queue: succeeded"), "\(result.stdout)")
        #expect(result.stdout.contains("soak breached") && result.stdout.contains("value = 7"), "\(result.stdout)")
        let json = try await shownLast(dir)
        let probes = (json["measurements"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "probe" }
        #expect(probes.count >= 3 && probes.allSatisfy { $0["value"] as? Double == 7 }, "\(probes)")

        let hostless = runbook("""
          - soak:
              duration: 2s
              gates:
                - probe: { command: "cat \(dir)/depth", regex: "([0-9]+)", expect: "value < 50" }
        """, in: dir)
        let refused = try await CLI.run(["validate", hostless])
        #expect(refused.status == 2)
        #expect(refused.stdout.contains("runs a command on a host, and this soak runs from this machine") || refused.stderr.contains("runs a command on a host"))
    }

    @Test("a notify step posts its webhook; a dead webhook does not fail the run")
    func notify() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let path = runbook("""
          - notify: { url: "\(app.url)/hook", body: { text: "deploying {{ run.runbook }}" } }
          - notify: { url: "http://127.0.0.1:9/nothing", timeout: 1s }
        """, in: dir)
        let result = try await CLI.run(["run", path, "-e", localEnvironment(dir), "--state", dir + "/state"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let posted = try await Shell.run(["/usr/bin/curl", "-s", "\(app.url)/hook"])
        #expect(posted.stdout.contains("deploying gates"))
        #expect(result.stdout.contains("webhook failed"))
    }
}
