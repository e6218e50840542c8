import MarshalCore
import Testing

@Suite("Engine: resume and the lock")
struct ResumeTests {
    static let paused = """
        version: 1
        runbook: t
        targets: web
        strategy: { batches: [1, "100%"] }
        steps:
          - id: version
            name: Version
            shell: "version"
            on: db
          - name: Ship
            shell: "ship {{ host.name }} {{ steps.version.stdout }}"
          - id: go
            name: Go on
            approve: { message: "canary looks fine?" }
        """

    @Test("an approve step pauses the run (journaled paused); resume with --approve runs only what did not finish, with the evidence of what did")
    func resumeSkipsFinished() async throws {
        let engine = Engine()
        engine.hosts.on("version", stdout: ["v7"])
        let first = try await engine.run(Self.paused)
        #expect(first.result.status == .paused)
        #expect(first.run.status == .paused)
        #expect(engine.hosts.hosts(running: "ship") == ["web1"])

        let prior = PriorProgress.from(first.steps)
        let second = try await engine.run(Self.paused, runId: "run-2", approvals: ["go"], prior: prior, parent: "run-1")
        #expect(second.result.status == .succeeded, "\(second.result.summary)")
        // Each host shipped once over both runs; the version read by the first run was reused.
        #expect(engine.hosts.hosts(running: "ship").sorted() == ["web1", "web2", "web3", "web4", "web5"])
        #expect(engine.hosts.hosts(running: "version") == ["db1"])
        #expect(engine.hosts.log.filter { $0.command.hasPrefix("ship") }.allSatisfy { $0.command.hasSuffix(" v7") })
        #expect(second.run.kind == .resume && second.run.parentRunId == "run-1")
    }

    @Test("a step that was in flight when the run stopped is run again by resume")
    func inFlightRunsAgain() async throws {
        let engine = Engine()
        let started = StepRecord(runId: "run-1", stepIndex: 1, name: "Ship", kind: "shell", phase: .main, host: "web1", batch: 1,
                                 startedAt: engine.clock.date)
        let prior = PriorProgress.from([started])
        #expect(prior.inFlight.map(\.key.host) == ["web1"])
        let outcome = try await engine.run("""
            version: 1
            runbook: t
            targets: web1
            steps:
              - name: Ship
                shell: "ship"
            """, runId: "run-2", prior: prior, parent: "run-1")
        #expect(outcome.result.status == .succeeded)
        #expect(engine.hosts.commands(on: "web1") == ["ship"])
    }

    @Test("a run that loses its lock to another run stops at the next boundary: nothing further runs, exit lockLost, journaled interrupted")
    func lockLoss() async throws {
        let engine = Engine()
        let journal = engine.journal
        engine.hosts.on("ship web1", exit: [0])
        engine.hosts.whenRunning("ship web1") { await journal.takeLock(environment: "test", by: "run-other") }
        let outcome = try await engine.run(Self.shipReload)
        #expect(outcome.result.status == .lockLost)
        #expect(outcome.result.summary.contains("lost the lock"))
        #expect(engine.hosts.log.map(\.command) == ["ship web1"])
        #expect(outcome.run.status == .interrupted)
        // The other run keeps its lock: the stopped run does not release what is no longer its.
        #expect(try await journal.lockStatus(environment: "test")?.runId == "run-other")
    }

    @Test("a second run on a locked environment does not start")
    func lockHeld() async throws {
        let engine = Engine()
        await engine.journal.takeLock(environment: "test", by: "run-other")
        await #expect(throws: RunStartError.self) {
            _ = try await engine.run("""
                version: 1
                runbook: t
                targets: web1
                steps:
                  - name: Ship
                    shell: "ship"
                """)
        }
        #expect(engine.hosts.log.isEmpty)
    }

    @Test("a resume that read the journal before another resume of the same run took the lock does not start once it holds the lock: nothing runs twice")
    func overtakenWhileWaiting() async throws {
        let engine = Engine()
        let first = try await engine.run(Self.paused)
        #expect(first.result.status == .paused)
        let prior = PriorProgress.from(first.steps)
        // Both operators read the journal (no resume of run-1 yet); the first one goes on.
        var winner = try engine.request(Self.paused, runId: "run-2", approvals: ["go"], kind: .resume, parent: "run-1")
        winner.prior = prior
        let asRead = [first.run.id: first.run.status]
        winner.journalAsRead = asRead
        #expect(try await Orchestrator(services: engine.services).run(winner).status == .succeeded)
        let shipped = engine.hosts.hosts(running: "ship").count
        // The second got the lock only now, with what it read before run-2 existed.
        var late = try engine.request(Self.paused, runId: "run-3", approvals: ["go"], kind: .resume, parent: "run-1")
        late.prior = prior
        late.journalAsRead = asRead
        do {
            _ = try await Orchestrator(services: engine.services).run(late)
            Issue.record("run-3 started although run-2 had continued run-1")
        } catch {
            guard case .overtaken(let run, let other) = error else { Issue.record("unexpected \(error)"); return }
            #expect(run == "run-1" && other.id == "run-2")
        }
        #expect(engine.hosts.hosts(running: "ship").count == shipped)
        #expect(try await engine.journal.lockStatus(environment: "test") == nil, "the late run let the lock go")
        await #expect(throws: (any Error).self) { _ = try await engine.journal.run(id: "run-3", environment: nil) }
    }

    @Test("a rollback planned while the run it undoes was still going does not start once it holds the lock: its plan would miss what that run did after")
    func plannedWhileTheRunWent() async throws {
        let engine = Engine()
        let first = try await engine.run(Self.paused)
        var rollback = try engine.request(Self.paused, runId: "run-2", kind: .rollback, parent: "run-1")
        rollback.prior = PriorProgress.from(first.steps)
        rollback.journalAsRead = [first.run.id: .running]  // read while run-1 was still running
        do {
            _ = try await Orchestrator(services: engine.services).rollback(rollback, progress: rollback.prior!,
                                                                          plan: UndoPlan.make(steps: [], progress: rollback.prior!, rerun: [], skip: []))
            Issue.record("run-2 started on a plan read while run-1 was running")
        } catch {
            guard case .overtaken(_, let other) = error else { Issue.record("unexpected \(error)"); return }
            #expect(other.id == "run-1" && other.status == .paused)
        }
    }

    static let shipReload = """
        version: 1
        runbook: t
        targets: web
        strategy: { batches: [1, "100%"] }
        steps:
          - name: Ship
            shell: "ship {{ host.name }}"
          - name: Reload
            shell: "reload {{ host.name }}"
        """

    @Test("a state store down for less than the lease is waited out at the next boundary: the run goes on, says so, and journals every step once")
    func shortStoreOutage() async throws {
        var engine = Engine()
        engine.lockLease = .seconds(30)
        let journal = engine.journal
        engine.hosts.whenRunning("ship web1") { await journal.goDown(for: .seconds(5)) }
        let outcome = try await engine.run(Self.shipReload)
        #expect(outcome.result.status == .succeeded, "\(outcome.result.summary)")
        #expect(engine.hosts.log.filter { $0.command.hasPrefix("ship") }.count == 5)
        #expect(engine.hosts.log.filter { $0.command.hasPrefix("reload") }.count == 5)
        #expect(outcome.steps.count == 10 && outcome.steps.allSatisfy { $0.status == .succeeded })
        #expect(engine.events.events.contains { if case .message(let m) = $0 { m.contains("the state store does not answer") } else { false } })
    }

    @Test("a state store down for longer than the lease stops the run before the next step: nothing further runs, exit lockLost")
    func longStoreOutage() async throws {
        var engine = Engine()
        engine.lockLease = .seconds(30)
        let journal = engine.journal
        engine.hosts.whenRunning("ship web1") { await journal.goDown(for: .seconds(120)) }
        let outcome = try await engine.run(Self.shipReload)
        #expect(outcome.result.status == .lockLost)
        #expect(outcome.result.summary.contains("could not be renewed before its lease ran out"), "\(outcome.result.summary)")
        #expect(engine.hosts.log.map(\.command) == ["ship web1"])
    }
}
