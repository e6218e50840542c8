import MarshalCore
import Testing

@Suite("Engine: batches and max_failures")
struct BatchTests {
    @Test("[1, 50%, 100%] over five hosts: a canary, then up to half, then the rest; each batch finishes before the next starts; an `on:` step runs once")
    func batchesInOrder() async throws {
        let engine = Engine()
        let outcome = try await engine.run("""
            version: 1
            runbook: t
            targets: web
            strategy: { batches: [1, "50%", "100%"] }
            steps:
              - name: Migrate
                shell: "migrate"
                on: db
              - name: Ship
                shell: "ship {{ host.name }}"
              - name: Reload
                shell: "reload {{ host.name }}"
            """)
        #expect(outcome.result.status == .succeeded)
        #expect(engine.events.batches == [["web1"], ["web2", "web3"], ["web4", "web5"]])
        #expect(engine.hosts.hosts(running: "migrate") == ["db1"])
        // Both steps of a batch end on every host of it before any host of the next batch starts.
        let order = engine.hosts.log.map(\.command).filter { $0.hasPrefix("ship") || $0.hasPrefix("reload") }
        let position = { (command: String) in order.firstIndex(of: command)! }
        #expect(position("reload web1") < position("ship web2"))
        #expect(max(position("reload web2"), position("reload web3")) < min(position("ship web4"), position("ship web5")))
        #expect(outcome.hosts("Ship", .succeeded) == ["web1", "web2", "web3", "web4", "web5"])
        #expect(outcome.records("Ship").map(\.batch) == [1, 2, 2, 3, 3])
        #expect(outcome.run.status == .succeeded)
    }

    @Test("--limit: only the named hosts are batched, and percentages are of them")
    func limit() async throws {
        let engine = Engine()
        let outcome = try await engine.run("""
            version: 1
            runbook: t
            targets: web
            strategy: { batches: ["50%", "100%"] }
            steps:
              - name: Ship
                shell: "ship {{ host.name }}"
            """, limit: ["web2", "web4", "web5"])
        #expect(outcome.result.status == .succeeded)
        #expect(engine.events.batches == [["web2", "web4"], ["web5"]])
        #expect(engine.hosts.hosts(running: "ship").sorted() == ["web2", "web4", "web5"])
    }

    @Test("max_failures: 1 tolerates one failed host and stops at the second; later batches never start")
    func maxFailuresStops() async throws {
        let engine = Engine()
        engine.hosts.on("ship", host: "web2", exit: [1])
        engine.hosts.on("ship", host: "web3", exit: [1])
        let outcome = try await engine.run("""
            version: 1
            runbook: t
            targets: web
            strategy: { batches: [1, 2, 2], max_failures: 1 }
            steps:
              - name: Ship
                shell: "ship {{ host.name }}"
            """)
        #expect(outcome.result.status == .failed)
        #expect(outcome.result.summary.contains("exceed max_failures 1"))
        #expect(outcome.hosts("Ship", .failed) == ["web2", "web3"])
        #expect(!engine.hosts.hosts(running: "ship").contains("web4"))
        #expect(outcome.run.status == .failed)
    }

    @Test("max_failures: a failed host within the limit runs no further steps, and the run succeeds naming it")
    func failedHostSkipsLaterSteps() async throws {
        let engine = Engine()
        engine.hosts.on("ship", host: "web3", exit: [1])
        let outcome = try await engine.run("""
            version: 1
            runbook: t
            targets: web
            strategy: { batches: ["100%"], max_failures: "20%" }
            steps:
              - name: Ship
                shell: "ship {{ host.name }}"
              - name: Reload
                shell: "reload {{ host.name }}"
            """)
        #expect(outcome.result.status == .succeeded)
        #expect(outcome.result.failedHosts == ["web3"])
        #expect(engine.hosts.hosts(running: "reload").sorted() == ["web1", "web2", "web4", "web5"])
    }

    @Test("an unreachable host counts as a failed host: within max_failures the others go on; beyond it nothing runs")
    func unreachableHosts() async throws {
        let tolerant = Engine()
        tolerant.hosts.unreachable("web4")
        let runbook = { (limit: String) in """
            version: 1
            runbook: t
            targets: web
            strategy: { batches: ["100%"], max_failures: \(limit) }
            steps:
              - name: Ship
                shell: "ship {{ host.name }}"
            """ }
        let went = try await tolerant.run(runbook("1"))
        #expect(went.result.status == .succeeded)
        #expect(went.result.failedHosts == ["web4"])
        #expect(tolerant.hosts.hosts(running: "ship").sorted() == ["web1", "web2", "web3", "web5"])

        let strict = Engine()
        strict.hosts.unreachable("web4")
        let stopped = try await strict.run(runbook("0"))
        #expect(stopped.result.status == .couldNotStart)
        #expect(strict.hosts.log.isEmpty)
        #expect(stopped.steps.isEmpty)
    }
}
