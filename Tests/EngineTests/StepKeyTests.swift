import MarshalCore
import Testing

@Suite("Engine: when, retries, until")
struct StepKeyTests {
    @Test("when: false skips the step on that host and journals it as skipped; true runs it")
    func when() async throws {
        let engine = Engine()
        let outcome = try await engine.run("""
            version: 1
            runbook: t
            targets: web
            strategy: { batches: ["100%"] }
            steps:
              - name: Only web2
                shell: "only {{ host.name }}"
                when: 'host.name == "web2"'
            """)
        #expect(outcome.result.status == .succeeded)
        #expect(engine.hosts.hosts(running: "only") == ["web2"])
        #expect(outcome.hosts("Only web2", .skipped) == ["web1", "web3", "web4", "web5"])
        #expect(outcome.hosts("Only web2", .succeeded) == ["web2"])
    }

    @Test("retries with until: re-run after `delay` until the condition holds; the attempts are journaled; the waits are the clock's")
    func retriesUntil() async throws {
        let engine = Engine()
        engine.hosts.on("count", stdout: ["1", "2", "3", "4"])
        let outcome = try await engine.run("""
            version: 1
            runbook: t
            targets: web1
            steps:
              - id: count
                name: Count
                shell: "count"
                retries: 5
                delay: 30s
                until: "number(stdout) >= 3"
              - name: Use
                shell: "use {{ steps.count.stdout }}"
            """)
        #expect(outcome.result.status == .succeeded)
        let count = try #require(outcome.records("Count").first)
        #expect(count.attempts == 3)
        #expect(engine.hosts.commands(on: "web1") == ["count", "count", "count", "use 3"])
        // Two waits of 30 s between three attempts, on the manual clock.
        let took = try #require(count.endedAt).timeIntervalSince(count.startedAt)
        #expect(took >= 60 && took < 61, "the retries took \(took) s of the run's clock")
    }

    @Test("retries exhausted: the step fails after 1 + retries attempts with the until explanation")
    func retriesExhausted() async throws {
        let engine = Engine()
        engine.hosts.on("probe", exit: [1])
        let outcome = try await engine.run("""
            version: 1
            runbook: t
            targets: web1
            steps:
              - name: Probe
                shell: "probe"
                retries: 2
                delay: 5s
            """)
        #expect(outcome.result.status == .failed)
        #expect(engine.hosts.commands(on: "web1") == ["probe", "probe", "probe"])
        #expect(outcome.records("Probe").first?.attempts == 3)
    }

    @Test("ignore_failure: a failing step is journaled as ignored_failure and the run goes on")
    func ignoreFailure() async throws {
        let engine = Engine()
        engine.hosts.on("flaky", exit: [4])
        let outcome = try await engine.run("""
            version: 1
            runbook: t
            targets: web1
            steps:
              - name: Flaky
                shell: "flaky"
                ignore_failure: true
              - name: After
                shell: "after"
            """)
        #expect(outcome.result.status == .succeeded)
        #expect(outcome.hosts("Flaky", .ignoredFailure) == ["web1"])
        #expect(engine.hosts.commands(on: "web1") == ["flaky", "after"])
    }
}
