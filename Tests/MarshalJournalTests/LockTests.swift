import Foundation
import MarshalCore
import Testing
@testable import MarshalJournal
import GRDB

@Suite("Environment lock and interrupted runs")
struct LockTests {
    let clock = TestClock()
    let processes = FakeProcesses()

    func open(_ directory: String) throws -> SQLiteJournal {
        try SQLiteJournal(directory: directory, clock: { [clock] in clock.now }, liveness: processes.liveness)
    }

    @Test("the first caller gets the lock; the second is told who holds it")
    func acquireAndHeld() async throws {
        try await withScratchDirectory { directory in
            let journal = try open(directory)
            processes.start(100)
            processes.start(200)
            let first = try await journal.acquireLock(environment: "production", holder: "alice@testbox", pid: 100, runId: "r1", lease: .seconds(30))
            let expected = LockRecord(
                environment: "production", holder: "alice@testbox", pid: 100, runId: "r1", since: clock.now,
                leaseExpiresAt: clock.now + 30
            )
            #expect(first == .acquired(expected.normalized))
            #expect(try await journal.lockStatus(environment: "production") == expected.normalized)

            let second = try await journal.acquireLock(environment: "production", holder: "bob@testbox", pid: 200, runId: "r2", lease: .seconds(30))
            #expect(second == .heldBy(expected.normalized))
            // Other environments are independent.
            #expect(try await journal.acquireLock(environment: "staging", holder: "bob@testbox", pid: 200, runId: "r2", lease: .seconds(30)).isAcquired)
            #expect(try await journal.lockStatus(environment: "qa") == nil)
        }
    }

    @Test("renewing extends the lease; acquiring again for the same run does too")
    func renew() async throws {
        try await withScratchDirectory { directory in
            let journal = try open(directory)
            processes.start(100)
            _ = try await journal.acquireLock(environment: "production", holder: "alice@testbox", pid: 100, runId: "r1", lease: .seconds(30))
            let since = clock.now
            clock.advance(20)
            let renewed = try await journal.renewLock(environment: "production", runId: "r1", lease: .seconds(30))
            #expect(renewed.leaseExpiresAt == millis(clock.now + 30))
            #expect(renewed.since == millis(since))
            clock.advance(25)  // past the first lease, inside the renewed one
            #expect(!renewed.isStale(now: clock.now))
            let again = try await journal.acquireLock(environment: "production", holder: "alice@testbox", pid: 100, runId: "r1", lease: .milliseconds(90_500))
            #expect(again.isAcquired)
            #expect(again.lock.leaseExpiresAt == millis(clock.now + 90.5))
        }
    }

    @Test("a lease that ran out makes the lock stale; it is taken over only deliberately")
    func staleAndTakeOver() async throws {
        try await withScratchDirectory { directory in
            let journal = try open(directory)
            processes.start(100)
            processes.start(200)
            let taken = try await journal.acquireLock(environment: "production", holder: "alice@elsewhere", pid: 100, runId: "r1", lease: .seconds(30))
            clock.advance(30)
            let found = try await journal.acquireLock(environment: "production", holder: "bob@testbox", pid: 200, runId: "r2", lease: .seconds(30))
            #expect(found == .stale(taken.lock))
            #expect(taken.lock.isStale(now: clock.now))

            // Taking over something other than what was seen stale is refused.
            var other = taken.lock
            other.runId = "r0"
            #expect(try await journal.takeOverStaleLock(environment: "production", stale: other, holder: "bob@testbox", pid: 200, runId: "r2", lease: .seconds(30)) == .stale(taken.lock))

            let takeover = try await journal.takeOverStaleLock(environment: "production", stale: taken.lock, holder: "bob@testbox", pid: 200, runId: "r2", lease: .seconds(30))
            #expect(takeover.isAcquired)
            #expect(takeover.lock.runId == "r2")
            // The old holder finds out when it tries to renew, and cannot release someone else's lock.
            await #expect(throws: JournalError.lockNotHeld(environment: "production", runId: "r1", current: takeover.lock, journal: journal.location)) {
                try await journal.renewLock(environment: "production", runId: "r1", lease: .seconds(30))
            }
            #expect(try await journal.releaseLock(environment: "production", runId: "r1") == false)
            #expect(try await journal.releaseLock(environment: "production", runId: "r2") == true)
            #expect(try await journal.lockStatus(environment: "production") == nil)
        }
    }

    @Test("a lock held by a dead process of this machine is stale before its lease ends")
    func deadHolder() async throws {
        try await withScratchDirectory { directory in
            let journal = try open(directory)
            processes.start(100)
            let taken = try await journal.acquireLock(environment: "production", holder: "alice@testbox", pid: 100, runId: "r1", lease: .seconds(300))
            processes.kill(100)
            #expect(try await journal.acquireLock(environment: "production", holder: "bob@testbox", pid: 200, runId: "r2", lease: .seconds(30)) == .stale(taken.lock))
        }
    }

    @Test("force release removes any lock and says whose it was")
    func forceRelease() async throws {
        try await withScratchDirectory { directory in
            let journal = try open(directory)
            processes.start(100)
            let taken = try await journal.acquireLock(environment: "production", holder: "alice@testbox", pid: 100, runId: "r1", lease: .seconds(30))
            #expect(try await journal.forceReleaseLock(environment: "production") == taken.lock)
            #expect(try await journal.forceReleaseLock(environment: "production") == nil)
            #expect(try await journal.acquireLock(environment: "production", holder: "bob@testbox", pid: 200, runId: "r2", lease: .seconds(30)).isAcquired)
        }
    }

    @Test("a running run is shown interrupted once its process is gone, and reconcile writes it down")
    func interrupted() async throws {
        try await withScratchDirectory { directory in
            let journal = try open(directory)
            // Alive: holds a fresh lock, process alive on this machine.
            processes.start(100)
            _ = try await journal.acquireLock(environment: "production", holder: "alice@testbox", pid: 100, runId: "live", lease: .seconds(30))
            try await journal.createRun(makeRun("live", startedAt: clock.now, operatorName: "alice@testbox", pid: 100))
            // Dead: ran here, pid gone (kill -9), lock still there with a fresh lease.
            processes.start(300)
            _ = try await journal.acquireLock(environment: "staging", holder: "alice@testbox", pid: 300, runId: "killed", lease: .seconds(30))
            try await journal.createRun(makeRun("killed", environment: "staging", startedAt: clock.now, operatorName: "alice@testbox", pid: 300))
            processes.kill(300)
            // Another machine: only its lease tells.
            _ = try await journal.acquireLock(environment: "qa", holder: "carol@laptop", pid: 400, runId: "remote", lease: .seconds(60))
            try await journal.createRun(makeRun("remote", environment: "qa", startedAt: clock.now, operatorName: "carol@laptop", pid: 400))
            // Lost its lock (force-released by an operator).
            try await journal.createRun(makeRun("unlocked", environment: "dev", startedAt: clock.now, operatorName: "carol@laptop", pid: 500))

            #expect(try await journal.run(id: "live", environment: nil).status == .running)
            #expect(try await journal.run(id: "remote", environment: nil).status == .running)
            let killed = try await journal.run(id: "killed", environment: nil)
            #expect(killed.status == .interrupted)
            #expect(killed.failureSummary == "process 300 on testbox ended without finishing the run")
            #expect(try await journal.run(id: "unlocked", environment: nil).status == .interrupted)

            clock.advance(61)
            _ = try await journal.renewLock(environment: "production", runId: "live", lease: .seconds(30))
            #expect(try await journal.run(id: "remote", environment: nil).status == .interrupted)
            #expect(Set(try await journal.runs(matching: RunQuery(statuses: [.interrupted])).map(\.id)) == ["killed", "remote", "unlocked"])
            #expect(try await journal.runs(matching: RunQuery(statuses: [.running])).map(\.id) == ["live"])

            #expect(Set(try await journal.reconcileInterrupted()) == ["killed", "remote", "unlocked"])
            #expect(try await journal.reconcileInterrupted().isEmpty)
            // Written down: the store with no way to probe processes shows the same.
            let blind = try SQLiteJournal(directory: directory, clock: { [clock] in clock.now }, liveness: .unknown)
            #expect(try await blind.run(id: "killed", environment: nil).status == .interrupted)
            #expect(try await blind.run(id: "live", environment: nil).status == .running)
        }
    }

    @Test("many journals on one file racing for the lock: exactly one wins")
    func raceInProcess() async throws {
        try await withScratchDirectory { directory in
            _ = try open(directory)  // create the schema once, as the CLI does before a run
            for round in 0..<5 {
                let environment = "env\(round)"
                let results = try await withThrowingTaskGroup(of: LockAcquisition.self) { group in
                    for contender in 0..<8 {
                        // Each journal is its own SQLite connection, as separate processes would have.
                        let journal = try SQLiteJournal(directory: directory, liveness: .unknown)
                        group.addTask {
                            try await journal.acquireLock(
                                environment: environment, holder: "op\(contender)@box", pid: Int32(1000 + contender),
                                runId: "run\(contender)", lease: .seconds(60)
                            )
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let winners = results.filter(\.isAcquired)
                #expect(winners.count == 1)
                let holder = try #require(winners.first).lock
                #expect(results.allSatisfy { $0.lock == holder })
            }
        }
    }
}

@Suite("Journal contention")
struct ContentionTests {
    @Test("the lock follows its run into a new process when the same run acquires it again")
    func sameRunNewProcess() async throws {
        try await withScratchDirectory { directory in
            let journal = try SQLiteJournal(directory: directory, liveness: .unknown)
            _ = try await journal.acquireLock(environment: "production", holder: "alice@a", pid: 1, runId: "r1", lease: .seconds(30))
            let again = try await journal.acquireLock(environment: "production", holder: "alice@b", pid: 2, runId: "r1", lease: .seconds(30))
            #expect(again.lock.holder == "alice@b")
            #expect(again.lock.pid == 2)
        }
    }

    @Test("a writer that cannot get the file within the busy timeout gets a `busy` error, and nothing half-written")
    func busy() async throws {
        try await withScratchDirectory { directory in
            let journal = try SQLiteJournal(directory: directory, liveness: .unknown, busyTimeout: .milliseconds(50))
            try await journal.createRun(makeRun("r1", status: .succeeded, startedAt: Date()))
            let blocker = try DatabaseQueue(path: journal.location)
            let holding = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let thread = Thread {
                try? blocker.writeWithoutTransaction { db in
                    try db.execute(sql: "BEGIN IMMEDIATE")
                    holding.signal()
                    // Held until the test lets go; the bound only ends a test that failed
                    // (10 s was outrun by a loaded machine, and then nothing was busy).
                    _ = release.wait(timeout: .now() + 300)
                    try db.execute(sql: "ROLLBACK")
                }
            }
            thread.start()
            holding.wait()
            await #expect(throws: JournalError.busy(journal: journal.location, operation: "record step s of run r1")) {
                _ = try await journal.appendStep(StepRecord(runId: "r1", stepIndex: 0, name: "s", kind: "shell", startedAt: Date()))
            }
            release.signal()
            #expect(try await journal.steps(runId: "r1").isEmpty)
            #expect(try await journal.appendStep(StepRecord(runId: "r1", stepIndex: 0, name: "s", kind: "shell", startedAt: Date())) == 1)
        }
    }
}

@Suite("Opening a new journal concurrently")
struct ConcurrentOpenTests {
    @Test("many connections creating the same new journal at once all open it")
    func concurrentCreation() async throws {
        for _ in 0..<10 {
            try await withScratchDirectory { directory in
                // Threads, not tasks: the cooperative pool may have only 2 threads, too few to collide.
                let failures = Failures()
                let start = DispatchSemaphore(value: 0)
                let done = DispatchGroup()
                for _ in 0..<6 {
                    done.enter()
                    Thread {
                        start.wait()
                        do { _ = try SQLiteJournal(directory: directory, liveness: .unknown) } catch { failures.add("\(error)") }
                        done.leave()
                    }.start()
                }
                for _ in 0..<6 { start.signal() }
                #expect(done.wait(timeout: .now() + 30) == .success)
                #expect(failures.all.isEmpty, "\(failures.all)")
            }
        }
    }
}

final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ failure: String) { lock.withLock { list.append(failure) } }
    var all: [String] { lock.withLock { list } }
}
