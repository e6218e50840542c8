import Foundation
import MarshalTestSupport
import Testing

/// Input that would exhaust time or read as a gate failure is refused up front, or bounded
/// (issue 12, items 11 and 12).
@Suite("Hostile input", .serialized)
struct HostileInputTests {
    @Test("a probe regex that backtracks exponentially ((a+)+$ over 43 a's and !) ends within the step's timeout, failing the step and naming the pattern")
    func catastrophicRegex() async throws {
        let dir = CLI.temporaryDirectory()
        let env = CLI.localEnvironment(dir, name: "regex")
        let path = dir + "/regex.yml"
        CLI.write("""
        version: 1
        runbook: regex
        targets: all
        steps:
          - name: backtracking probe
            timeout: 5s
            probe: { command: "printf '\(String(repeating: "a", count: 43))!'", regex: "(a+)+$", expect: "value < 1" }
        """, to: path)
        let started = ContinuousClock.now
        let result = try await CLI.run(["run", path, "-e", env, "--state", dir + "/state"], timeout: 60)
        #expect(ContinuousClock.now - started < .seconds(5), "the run took \(ContinuousClock.now - started)")
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("was still searching 44 characters"), "\(result.stdout)")
    }

    @Test("bench refuses a rate beyond what the generator can schedule, and a threshold naming no metric, with exit 2 before sending")
    func benchInputErrors() async throws {
        let url = "http://127.0.0.1:\(Loopback.closedPort())/x"
        let started = ContinuousClock.now
        let fast = try await CLI.run(["bench", url, "--rate", "1e9", "-d", "2s"], timeout: 30)
        #expect(fast.status == 2, "\(fast.stdout)\(fast.stderr)")
        #expect(fast.stderr.contains("beyond what the load generator can schedule (at most 1000000 per second)"), "\(fast.stderr)")
        #expect(ContinuousClock.now - started < .seconds(2))

        let unknown = try await CLI.run(["bench", url, "-d", "1s", "--threshold", "nosuch < 1"])
        #expect(unknown.status == 2, "\(unknown.stdout)\(unknown.stderr)")
        #expect(unknown.stderr.contains("--threshold #1:1:1: 'nosuch' in 'nosuch < 1' is not a metric"), "\(unknown.stderr)")
        let rightSide = try await CLI.run(["bench", url, "-d", "1s", "--threshold", "p95 < fast"])
        #expect(rightSide.status == 2)
        #expect(rightSide.stderr.contains("--threshold #1:1:7: 'fast'"), "\(rightSide.stderr)")
    }
}
