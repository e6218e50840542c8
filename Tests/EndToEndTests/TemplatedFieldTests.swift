import Foundation
import MarshalTestSupport
import Testing

/// `wait: "{{ params.x }}"`, a templated `within`, soak/benchmark `duration` and `expect` (issue 15):
/// accepted, rendered with the run's params when it starts, and a bad value is an input error
/// naming where it was written, before anything runs.
@Suite("Templated durations and expectations")
struct TemplatedFieldTests {
    func runbook(_ dir: String) -> String {
        let path = dir + "/t.yml"
        CLI.write("""
        version: 1
        runbook: t
        params:
          pause: { type: string, default: 1s }
          max_depth: { type: string, default: "50" }
        steps:
          - wait: "{{ params.pause }}"
          - id: depth
            probe: { command: "echo 42", expect: "value < {{ params.max_depth }}" }
          - wait: { duration: "{{ params.pause }}" }
        """, to: path)
        return path
    }

    @Test("a templated wait and expect take the params' values: the run waits that long and holds the probe to the rendered limit")
    func rendered() async throws {
        let dir = CLI.temporaryDirectory()
        let environment = CLI.localEnvironment(dir, name: "t")
        let path = runbook(dir)
        let started = Date()
        let passed = try await CLI.run(["run", path, "-e", environment, "--state", dir + "/state", "-p", "pause=2s"])
        let elapsed = Date().timeIntervalSince(started)
        #expect(passed.status == 0, "\(passed.stdout)\(passed.stderr)")
        #expect(elapsed >= 4, "two waits of 2 s: \(elapsed) s")
        let failed = try await CLI.run(["run", path, "-e", environment, "--state", dir + "/state", "-p", "pause=0s", "-p", "max_depth=40"])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("value < 40"), "the rendered expectation: \(failed.stderr)")
        let plan = try await CLI.run(["plan", path, "-e", environment, "-p", "pause=3s"])
        #expect(plan.stdout.contains("wait 3s"), "\(plan.stdout)")
    }

    @Test("a templated duration that does not render to a duration, or an expectation that does not parse, is refused by validate -e, plan and run with file:line:column; nothing runs")
    func refused() async throws {
        let dir = CLI.temporaryDirectory()
        let environment = CLI.localEnvironment(dir, name: "t")
        let path = runbook(dir)
        let bad = try await CLI.run(["run", path, "-e", environment, "--state", dir + "/state", "-p", "pause=soon"])
        #expect(bad.status == 2, "\(bad.stdout)\(bad.stderr)")
        #expect(bad.stderr.contains("t.yml:7:12") && bad.stderr.contains("renders to 'soon': not a duration"), "\(bad.stderr)")
        let runs = try await CLI.run(["runs", "--state", dir + "/state"])
        #expect(!runs.stdout.contains(" t "), "nothing ran: \(runs.stdout)")
        let badExpect = try await CLI.run(["plan", path, "-e", environment, "-p", "max_depth=50)"])
        #expect(badExpect.status == 2)
        #expect(badExpect.stderr.contains("t.yml:9:") && badExpect.stderr.contains("'expect' is \"value < {{ params.max_depth }}\", which renders to"), "\(badExpect.stderr)")
        let validate = try await CLI.run(["validate", path, "-e", environment])
        #expect(validate.status == 0, "defaults render fine: \(validate.stderr)")
        CLI.write((try String(contentsOfFile: path, encoding: .utf8)).replacingOccurrences(of: "{{ params.pause }}\"\n  - id", with: "{{ params.pase }}\"\n  - id"), to: path)
        let typo = try await CLI.run(["validate", path])
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("params.pase") && typo.stderr.contains("pause"), "\(typo.stderr)")
    }

    @Test("a templated within on a health check: the check keeps trying for the rendered time (3 s for an app healthy after 2 s passes; 1 s fails)")
    func templatedWithin() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let environment = CLI.localEnvironment(dir, name: "t")
        let path = dir + "/w.yml"
        CLI.write("""
        version: 1
        runbook: w
        params: { within: { type: string, default: 6s } }
        steps:
          - health: { url: "\(app.url)/healthy-after/2", within: "{{ params.within }}" }
        """, to: path)
        let short = try await CLI.run(["run", path, "-e", environment, "--state", dir + "/state", "-p", "within=500ms"])
        #expect(short.status == 1, "healthy only after 2 s: \(short.stdout)\(short.stderr)")
        let long = try await CLI.run(["run", path, "-e", environment, "--state", dir + "/state"])
        #expect(long.status == 0, "\(long.stdout)\(long.stderr)")
    }
}
