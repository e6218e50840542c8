import MarshalCore
import Testing

@Suite("Engine: rollback order and scope")
struct RollbackTests {
    static let threeSteps = """
        version: 1
        runbook: t
        targets: web
        strategy: { batches: [1, "100%"] }
        steps:
          - name: One
            shell: "one {{ host.name }}"
            undo: { shell: "undo-one {{ host.name }}" }
          - name: Two
            shell: "two {{ host.name }}"
          - name: Three
            shell: "three {{ host.name }}"
            undo: { shell: "undo-three {{ host.name }}" }
        on_failure: rollback
        """

    @Test("on a failure, completed steps are undone newest first: the failing batch's, then the earlier batch's; only where they completed; steps without undo are passed over")
    func reverseOrder() async throws {
        let engine = Engine()
        engine.hosts.on("three web3", exit: [1])
        let outcome = try await engine.run(Self.threeSteps)
        #expect(outcome.result.status == .rolledBack)
        let undos = engine.hosts.log.filter { $0.command.hasPrefix("undo") }.map(\.command)
        let position = { (command: String) in undos.firstIndex(of: command) ?? -1 }
        // web3's Three failed: it has nothing of Three to undo.
        #expect(!undos.contains("undo-three web3"))
        #expect(undos.filter { $0.hasPrefix("undo-three") }.count == 4)
        #expect(undos.filter { $0.hasPrefix("undo-one") }.count == 5)
        // Batch 2 newest step first, then batch 1 newest step first.
        for host in ["web2", "web4", "web5"] { #expect(position("undo-three \(host)") < position("undo-one web2")) }
        for host in ["web2", "web3", "web4", "web5"] { #expect(position("undo-one \(host)") < position("undo-three web1")) }
        #expect(position("undo-three web1") < position("undo-one web1"))
        #expect(undos.last == "undo-one web1")
        #expect(outcome.run.status == .rolledBack)
        let undoRecords = outcome.steps.filter { $0.phase == .undo && $0.kind != UndoKey.markerKind }
        #expect(undoRecords.allSatisfy { $0.status == .succeeded })
        #expect(undoRecords.count == 9)
    }

    @Test("on_failure: stop leaves what was done as it is")
    func stopDoesNotUndo() async throws {
        let engine = Engine()
        engine.hosts.on("three web1", exit: [1])
        let outcome = try await engine.run(Self.threeSteps.replacingOccurrences(of: "on_failure: rollback", with: "on_failure: stop"))
        #expect(outcome.result.status == .failed)
        #expect(!engine.hosts.log.contains { $0.command.hasPrefix("undo") })
    }

    @Test("undo_on_failure: a failed step that may have changed something has its own undo run, on that host only")
    func undoOnFailure() async throws {
        let engine = Engine()
        engine.hosts.on("migrate", exit: [1])
        let outcome = try await engine.run("""
            version: 1
            runbook: t
            targets: db
            steps:
              - name: Migrate
                shell: "migrate"
                undo_on_failure: true
                undo: { shell: "restore" }
            on_failure: rollback
            """)
        #expect(outcome.result.status == .rolledBack)
        #expect(engine.hosts.commands(on: "db1") == ["migrate", "restore"])
    }

    @Test("a failing undo leaves the run failed, says UNDO FAILED and how to retry, and the other undos still run")
    func failingUndo() async throws {
        let engine = Engine()
        engine.hosts.on("three web1", exit: [1])
        engine.hosts.on("undo-one web1", exit: [1])
        let outcome = try await engine.run(Self.threeSteps)
        #expect(outcome.result.status == .failed)
        #expect(outcome.result.summary.contains("UNDO FAILED"))
        #expect(outcome.result.summary.contains("marshal rollback -e test --run run-1"))
    }
}
