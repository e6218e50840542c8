import Foundation
import MarshalCore
import Testing

/// The moment something first happened, on the run's clock, to judge later times against.
final class Mark: @unchecked Sendable {
    private let lock = NSLock()
    private var instant: ContinuousClock.Instant?
    let clock: ManualClock

    init(_ clock: ManualClock) { self.clock = clock }

    /// Time since the first call (zero on the first call).
    func sinceFirst() -> Duration {
        lock.withLock {
            let now = clock.now
            if instant == nil { instant = now }
            return now - instant!
        }
    }
}

@Suite("Engine: within deadlines and soaks")
struct DeadlineTests {
    @Test("health that turns healthy after 3 s passes within: 10s; every attempt is a measurement, only the last passed")
    func turnsHealthy() async throws {
        let engine = Engine()
        let mark = Mark(engine.clock)
        engine.http.answer { _, _ in mark.sinceFirst() >= .seconds(3) ? (200, #"{"status":"healthy"}"#) : (503, #"{"status":"starting"}"#) }
        let outcome = try await engine.run("""
            version: 1
            runbook: t
            targets: web1
            steps:
              - name: Healthy
                health: { url: "{{ host.vars.base_url }}/health", expect: { status: 200, json: { "$.status": healthy } }, within: 10s }
            """)
        #expect(outcome.result.status == .succeeded)
        let attempts = outcome.measurements.filter { $0.kind == "health" }
        #expect(attempts.count >= 3)
        #expect(attempts.last?.outcome == .passed)
        #expect(attempts.dropLast().allSatisfy { $0.outcome == .failed })
        let step = try #require(outcome.records("Healthy").first)
        let took = try #require(step.endedAt).timeIntervalSince(step.startedAt)
        #expect(took >= 3 && took < 10, "passed after \(took) s")
    }

    @Test("health that never turns healthy fails at the 10 s deadline itself, not at its last backoff before it")
    func neverHealthy() async throws {
        let engine = Engine()
        engine.http.answer { _, _ in (503, "{}") }
        let outcome = try await engine.run("""
            version: 1
            runbook: t
            targets: web1
            steps:
              - name: Healthy
                health: { url: "{{ host.vars.base_url }}/health", expect: 200, within: 10s }
            """)
        #expect(outcome.result.status == .failed)
        #expect(outcome.result.summary.contains("within 10s ran out"))
        let step = try #require(outcome.records("Healthy").first)
        let took = try #require(step.endedAt).timeIntervalSince(step.startedAt)
        #expect(abs(took - 10) < 0.1, "the gate failed after \(took) s of the run's clock")
        // Backoff 1, 2, 4 s and then the deadline: attempts at 0, 1, 3, 7 and 10 s.
        #expect(engine.http.requests(to: "http://web1.test/health") == 5)
    }

    @Test("a 20 s soak every 2 s fails at the first round after its endpoint turns 500 (second 9), and the rollback undoes the switch")
    func soakBreach() async throws {
        let engine = Engine()
        let mark = Mark(engine.clock)
        engine.http.answer { url, _ in
            guard url.hasSuffix("/health") else { return (200, "{}") }
            return mark.sinceFirst() >= .seconds(9) ? (500, "{}") : (200, "{}")
        }
        let outcome = try await engine.run("""
            version: 1
            runbook: t
            targets: web1
            steps:
              - name: Switch
                shell: "switch"
                undo: { shell: "switch back" }
              - name: Watch
                soak:
                  duration: 20s
                  interval: 2s
                  gates:
                    - health: { url: "http://lb.test/health", expect: 200 }
            on_failure: rollback
            """)
        #expect(outcome.result.status == .rolledBack)
        #expect(outcome.result.summary.contains("soak breached at 10.0s (round 6)"))
        let watch = try #require(outcome.records("Watch").first)
        let took = try #require(watch.endedAt).timeIntervalSince(watch.startedAt)
        #expect(took >= 9 && took <= 11, "the breach was seen \(took) s into the soak")
        #expect(engine.hosts.commands(on: "web1") == ["switch", "switch back"])
        let rounds = outcome.measurements.filter { $0.kind == "soak" }
        #expect(rounds.count == 6)
        #expect(rounds.last?.outcome == .failed)
    }

    @Test("a soak whose gates hold runs its whole duration and succeeds")
    func soakHolds() async throws {
        let engine = Engine()
        let outcome = try await engine.run("""
            version: 1
            runbook: t
            targets: web1
            steps:
              - name: Watch
                soak:
                  duration: 20s
                  interval: 5s
                  gates:
                    - health: { url: "http://lb.test/health", expect: 200 }
            """)
        #expect(outcome.result.status == .succeeded)
        #expect(outcome.measurements.filter { $0.kind == "soak" }.count == 4)
        let watch = try #require(outcome.records("Watch").first)
        #expect(watch.message?.contains("4 rounds over 20s, every gate held") == true, "\(watch.message ?? "")")
    }
}
