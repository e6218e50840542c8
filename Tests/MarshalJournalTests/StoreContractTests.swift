import Foundation
import MarshalCore
import MarshalTestSupport
import Testing
@testable import MarshalJournal
@testable import MarshalJournalPostgres

/// The stores Marshal ships; every contract test runs against each.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

/// A fresh, empty store of the given kind, with the real clock (PostgreSQL keeps time with the
/// server's clock, so leases are tested with short real leases, polled with a deadline).
/// `open` returns another handle on the same store (another operator's process).
struct ContractStore {
    let store: any JournalStore
    let open: @Sendable () throws -> any JournalStore
    let cleanup: @Sendable () -> Void
}

func makeStore(_ kind: StoreKind, liveness: ProcessLiveness) async throws -> ContractStore {
    switch kind {
    case .sqlite:
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("marshal-contract-\(UUID().uuidString)").path
        let open: @Sendable () throws -> any JournalStore = { try SQLiteJournal(directory: directory, liveness: liveness) }
        return ContractStore(store: try open(), open: open, cleanup: { try? FileManager.default.removeItem(atPath: directory) })
    case .postgres:
        let url = try await TestPostgres.shared().database()
        let open: @Sendable () throws -> any JournalStore = { try PostgresJournal(url: url, liveness: liveness) }
        return ContractStore(store: try open(), open: open, cleanup: {})
    }
}

@Suite("JournalStore contract (SQLite and PostgreSQL)")
struct StoreContractTests {
    let processes = FakeProcesses()

    @Test("runs: created, updated, listed newest first, found by id, prefix and `last`", arguments: StoreKind.allCases)
    func runs(kind: StoreKind) async throws {
        let s = try await makeStore(kind, liveness: processes.liveness)
        defer { s.cleanup() }
        let journal = s.store
        let t0 = millis(Date())
        try await journal.createRun(makeRun("20261124-010000-aaaa", status: .succeeded, startedAt: t0))
        try await journal.createRun(makeRun("20261124-020000-bbbb", environment: "staging", status: .failed, startedAt: t0 + 60))
        try await journal.createRun(makeRun("20261124-030000-cccc", status: .succeeded, startedAt: t0 + 120, kind: .rollback,
                                            parentRunId: "20261124-010000-aaaa"))
        await #expect(throws: JournalError.duplicateRun(id: "20261124-010000-aaaa", journal: journal.location)) {
            try await journal.createRun(makeRun("20261124-010000-aaaa", startedAt: t0))
        }
        #expect(try await journal.runs().map(\.id) == ["20261124-030000-cccc", "20261124-020000-bbbb", "20261124-010000-aaaa"])
        #expect(try await journal.runs(environment: "production", limit: 1).map(\.id) == ["20261124-030000-cccc"])
        #expect(try await journal.lastRun(environment: "production", kinds: [.rollout])?.id == "20261124-010000-aaaa")
        #expect(try await journal.run(id: "20261124-02", environment: nil).id == "20261124-020000-bbbb")
        #expect(try await journal.run(id: RunID.last, environment: "production").id == "20261124-030000-cccc")
        await #expect(throws: JournalError.self) { try await journal.run(id: "20261124", environment: nil) }
        await #expect(throws: JournalError.runInOtherEnvironment(id: "20261124-020000-bbbb", environment: "staging", expected: "production")) {
            try await journal.run(id: "20261124-020000-bbbb", environment: "production")
        }
        try await journal.updateRun(id: "20261124-020000-bbbb", status: .rolledBack, endedAt: t0 + 90, failureSummary: "health failed on web2")
        let updated = try await journal.run(id: "20261124-020000-bbbb", environment: nil)
        #expect(updated.status == .rolledBack)
        #expect(updated.endedAt.map(millis) == millis(t0 + 90))
        #expect(updated.failureSummary == "health failed on web2")
        #expect(updated.params == ["release": "v1.2.3", "token": Secret.mask])
        #expect(updated.inputsJSON == #"{"vars":{"app_dir":"/srv/app"}}"#)
        var expected = makeRun("20261124-010000-aaaa", status: .succeeded, startedAt: t0)
        expected.startedAt = t0
        #expect(try await journal.run(id: "20261124-010000-aaaa", environment: nil).normalized == expected.normalized)
        // Values that would break SQL built from strings are stored as given.
        try await journal.createRun(makeRun("x'); DROP TABLE runs; --", startedAt: t0 + 200, operatorName: "o'brien@box"))
        #expect(try await journal.run(id: "x'); DROP TABLE runs; --", environment: nil).operatorName == "o'brien@box")
        await #expect(throws: JournalError.runNotFound(reference: "nope", environment: nil, journal: journal.location)) {
            try await journal.updateRun(id: "nope", status: .failed)
        }
    }

    @Test("steps and measurements: a boundary commits ends and starts together, sequences in order", arguments: StoreKind.allCases)
    func stepsAndMeasurements(kind: StoreKind) async throws {
        let s = try await makeStore(kind, liveness: processes.liveness)
        defer { s.cleanup() }
        let journal = s.store
        let t0 = millis(Date())
        try await journal.createRun(makeRun("r1", startedAt: t0))
        let first = try await journal.commitBoundary(finishes: [], starts: [
            StepRecord(runId: "r1", stepIndex: 0, name: "stop app", kind: "shell", host: "web1", batch: 1, startedAt: t0, command: "systemctl stop app"),
            StepRecord(runId: "r1", stepIndex: 0, name: "stop app", kind: "shell", host: "web2", batch: 1, startedAt: t0),
        ])
        #expect(first == [1, 2])
        let done = StepCompletion(status: .succeeded, endedAt: t0 + 1, exitStatus: 0, stdout: "ok\n", stderr: "", registeredJSON: #"{"a":1}"#, attempts: 2, message: "done")
        let next = try await journal.commitBoundary(
            finishes: [StepFinish(runId: "r1", sequence: 1, completion: done), StepFinish(runId: "r1", sequence: 2, completion: done)],
            starts: [StepRecord(runId: "r1", stepIndex: 1, stepId: "health", name: "health", kind: "health", phase: .main, startedAt: t0 + 1)])
        #expect(next == [3])
        let steps = try await journal.steps(runId: "r1")
        #expect(steps.map(\.sequence) == [1, 2, 3])
        #expect(steps[0].status == .succeeded && steps[0].exitStatus == 0 && steps[0].stdout == "ok\n" && steps[0].attempts == 2)
        #expect(steps[0].endedAt.map(millis) == millis(t0 + 1) && steps[0].command == "systemctl stop app" && steps[0].registeredJSON == #"{"a":1}"#)
        #expect(steps[2].status == .started && steps[2].stepId == "health" && steps[2].host == nil && steps[2].batch == nil)
        await #expect(throws: JournalError.self) {
            try await journal.finishStep(runId: "r1", sequence: 99, done)
        }
        await #expect(throws: JournalError.self) {
            _ = try await journal.appendStep(StepRecord(runId: "no-such-run", stepIndex: 0, name: "x", kind: "shell", startedAt: t0))
        }

        let m = MeasurementRecord(runId: "r1", stepSequence: 3, host: "web1", kind: "health", name: "/health", outcome: .passed,
                                  expectation: "status == 200", value: 12.5, unit: "ms", payloadJSON: #"{"status":200}"#, recordedAt: t0 + 2)
        let id1 = try await journal.recordMeasurement(m)
        let id2 = try await journal.recordMeasurement(MeasurementRecord(runId: "r1", kind: "backup", name: "db", recordedAt: t0 + 3))
        #expect(id2 > id1)
        let read = try await journal.measurements(runId: "r1")
        var expected = m
        expected.id = id1
        #expect(read.first?.normalized == expected.normalized)
        #expect(read.map(\.name) == ["/health", "db"])
        await #expect(throws: JournalError.runNotFound(reference: "ghost", environment: nil, journal: journal.location)) {
            try await journal.recordMeasurement(MeasurementRecord(runId: "ghost", kind: "health", name: "x", recordedAt: t0))
        }
    }

    @Test("lock: acquired once, held by others, renewed, released; a lost lock cannot be renewed", arguments: StoreKind.allCases)
    func lock(kind: StoreKind) async throws {
        let s = try await makeStore(kind, liveness: processes.liveness)
        defer { s.cleanup() }
        let journal = s.store
        let other = try s.open()
        // Leases of ten minutes: the test checks who holds the lock, not its expiry (another test
        // does), and on a loaded machine a 30 s lease ran out between two of its steps.
        processes.start(100)
        processes.start(200)
        let first = try await journal.acquireLock(environment: "production", holder: "alice@elsewhere", pid: 100, runId: "r1", lease: .seconds(600),
                                                  message: "hotfix INC-42: don't deploy")
        #expect(first.isAcquired)
        #expect(first.lock.leaseExpiresAt.timeIntervalSince(first.lock.since) == 600)
        // The message is kept with the lock and read back by another handle (another operator).
        #expect(first.lock.message == "hotfix INC-42: don't deploy")
        let second = try await other.acquireLock(environment: "production", holder: "bob@elsewhere", pid: 200, runId: "r2", lease: .seconds(600),
                                                 message: "mine")
        #expect(second == .heldBy(first.lock))
        #expect(second.lock.message == "hotfix INC-42: don't deploy")
        #expect(try await other.lockStatus(environment: "production") == first.lock)
        #expect(try await other.acquireLock(environment: "staging", holder: "bob@elsewhere", pid: 200, runId: "r2", lease: .seconds(600)).isAcquired)

        let renewed = try await journal.renewLock(environment: "production", runId: "r1", lease: .seconds(1200))
        #expect(renewed.since == first.lock.since && renewed.leaseExpiresAt > first.lock.leaseExpiresAt)
        #expect(renewed.message == first.lock.message, "a renewal keeps the message")
        #expect(try await other.releaseLock(environment: "production", runId: "r2") == false)
        #expect(try await journal.releaseLock(environment: "production", runId: "r1"))
        #expect(try await journal.lockStatus(environment: "production") == nil)
        await #expect(throws: JournalError.lockNotHeld(environment: "production", runId: "r1", current: nil, journal: journal.location)) {
            try await journal.renewLock(environment: "production", runId: "r1", lease: .seconds(600))
        }
        let taken = try await other.acquireLock(environment: "production", holder: "bob@elsewhere", pid: 200, runId: "r2", lease: .seconds(600))
        #expect(taken.isAcquired)
        await #expect(throws: JournalError.lockNotHeld(environment: "production", runId: "r1", current: taken.lock, journal: journal.location)) {
            try await journal.renewLock(environment: "production", runId: "r1", lease: .seconds(600))
        }
        #expect(try await journal.forceReleaseLock(environment: "production") == taken.lock)
        #expect(try await journal.forceReleaseLock(environment: "production") == nil)
    }

    @Test("a boundary with the run's lock claim extends the lease; without the lock it writes nothing and says who holds it", arguments: StoreKind.allCases)
    func boundaryProvesLock(kind: StoreKind) async throws {
        let s = try await makeStore(kind, liveness: .unknown)
        defer { s.cleanup() }
        let journal = s.store
        let t0 = millis(Date())
        try await journal.createRun(makeRun("r1", startedAt: t0))
        let held = try await journal.acquireLock(environment: "production", holder: "alice@a", pid: 1, runId: "r1", lease: .seconds(5))
        let claim = LockClaim(environment: "production", runId: "r1", lease: .seconds(60))
        #expect(try await journal.commitBoundary(finishes: [], starts: [StepRecord(runId: "r1", stepIndex: 0, name: "a", kind: "shell", startedAt: t0)], renewing: claim) == [1])
        let extended = try #require(try await journal.lockStatus(environment: "production"))
        #expect(extended.leaseExpiresAt > held.lock.leaseExpiresAt + 30)
        _ = try await journal.forceReleaseLock(environment: "production")
        let other = try await journal.acquireLock(environment: "production", holder: "bob@b", pid: 2, runId: "r2", lease: .seconds(30))
        let done = StepCompletion(status: .succeeded, endedAt: t0 + 1)
        await #expect(throws: JournalError.lockNotHeld(environment: "production", runId: "r1", current: other.lock, journal: journal.location)) {
            _ = try await journal.commitBoundary(finishes: [StepFinish(runId: "r1", sequence: 1, completion: done)],
                                                 starts: [StepRecord(runId: "r1", stepIndex: 1, name: "b", kind: "shell", startedAt: t0)], renewing: claim)
        }
        let steps = try await journal.steps(runId: "r1")
        #expect(steps.map(\.name) == ["a"] && steps[0].status == .started, "nothing of the refused boundary was written")
    }

    @Test("lock: stale only once the lease ran out by the store's clock; taken over only deliberately", arguments: StoreKind.allCases)
    func staleTakeOver(kind: StoreKind) async throws {
        let s = try await makeStore(kind, liveness: processes.liveness)
        defer { s.cleanup() }
        let journal = s.store
        processes.start(100)
        processes.start(200)
        // While a lease runs, the lock is held, not stale (a long lease: a loaded machine cannot outrun it).
        let long = try await journal.acquireLock(environment: "staging", holder: "alice@elsewhere", pid: 100, runId: "r0", lease: .seconds(120))
        #expect(try await journal.acquireLock(environment: "staging", holder: "bob@elsewhere", pid: 200, runId: "r2", lease: .seconds(30)) == .heldBy(long.lock))
        // A short lease that is not renewed turns stale by the store's clock.
        _ = try await journal.acquireLock(environment: "production", holder: "alice@elsewhere", pid: 100, runId: "r1", lease: .seconds(2))
        var stale: LockRecord?
        #expect(try await eventually(within: 20) {
            if case .stale(let lock) = try await journal.acquireLock(environment: "production", holder: "bob@elsewhere", pid: 200, runId: "r2", lease: .seconds(30)) {
                stale = lock
                return true
            }
            return false
        })
        let seen = try #require(stale)
        var wrong = seen
        wrong.runId = "r0"
        #expect(try await journal.takeOverStaleLock(environment: "production", stale: wrong, holder: "bob@elsewhere", pid: 200, runId: "r2", lease: .seconds(30)) == .stale(seen))
        let takeover = try await journal.takeOverStaleLock(environment: "production", stale: seen, holder: "bob@elsewhere", pid: 200, runId: "r2", lease: .seconds(30))
        #expect(takeover.isAcquired && takeover.lock.runId == "r2")
        await #expect(throws: JournalError.self) {
            try await journal.renewLock(environment: "production", runId: "r1", lease: .seconds(30))
        }
    }

    @Test("lock: many processes racing for a free lock, exactly one gets it", arguments: StoreKind.allCases)
    func race(kind: StoreKind) async throws {
        let s = try await makeStore(kind, liveness: .unknown)
        defer { s.cleanup() }
        let handles = try (0..<6).map { _ in try s.open() }
        let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
            for (i, handle) in handles.enumerated() {
                group.addTask {
                    try await handle.acquireLock(environment: "production", holder: "op\(i)@m\(i)", pid: Int32(1000 + i), runId: "r\(i)", lease: .seconds(30)).isAcquired
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(winners == 1)
    }

    @Test("interrupted: a running run whose lease ran out is shown and then recorded as interrupted", arguments: StoreKind.allCases)
    func interrupted(kind: StoreKind) async throws {
        let s = try await makeStore(kind, liveness: processes.liveness)
        defer { s.cleanup() }
        let journal = s.store
        processes.start(100)
        processes.start(300)
        let t0 = millis(Date())
        try await journal.createRun(makeRun("dead", startedAt: t0, operatorName: "alice@elsewhere", pid: 100))
        try await journal.createRun(makeRun("alive", environment: "staging", startedAt: t0 + 1, operatorName: "bob@elsewhere", pid: 300))
        _ = try await journal.acquireLock(environment: "production", holder: "alice@elsewhere", pid: 100, runId: "dead", lease: .seconds(3))
        _ = try await journal.acquireLock(environment: "staging", holder: "bob@elsewhere", pid: 300, runId: "alive", lease: .seconds(60))
        #expect(try await eventually(within: 10) { try await journal.run(id: "dead", environment: nil).status == .interrupted })
        #expect(try await journal.runs(matching: RunQuery(statuses: [.interrupted])).map(\.id) == ["dead"])
        #expect(try await journal.reconcileInterrupted() == ["dead"])
        #expect(try await journal.reconcileInterrupted() == [])
        let dead = try await journal.run(id: "dead", environment: nil)
        #expect(dead.status == .interrupted && dead.failureSummary?.contains("lease expired") == true)
        #expect(try await journal.run(id: "alive", environment: nil).status == .running)
        // A process of this machine that is gone is dead at once, lease or not.
        let local = try await makeStore(kind, liveness: processes.liveness)
        defer { local.cleanup() }
        try await local.store.createRun(makeRun("crashed", startedAt: t0, operatorName: "carol@\(FakeProcesses.machine)", pid: 400))
        _ = try await local.store.acquireLock(environment: "production", holder: "carol@\(FakeProcesses.machine)", pid: 400, runId: "crashed", lease: .seconds(60))
        #expect(try await local.store.run(id: "crashed", environment: nil).status == .interrupted)
    }

    @Test("a journal made before lock messages (no message column) is migrated when opened: its held lock reads back, new locks keep a message", arguments: StoreKind.allCases)
    func lockMessageMigration(kind: StoreKind) async throws {
        let old = try await makeOldSchemaStore(kind)
        defer { old.cleanup() }
        let journal = old.store
        let held = try #require(try await journal.lockStatus(environment: "production"), "the lock written under the old schema")
        #expect(held.holder == "old@box" && held.runId == "r-old" && held.message == nil)
        #expect(try await journal.forceReleaseLock(environment: "production")?.runId == "r-old")
        let taken = try await journal.acquireLock(environment: "production", holder: "new@box", pid: 2, runId: "r-new", lease: .seconds(30),
                                                  message: "after the migration")
        #expect(taken.isAcquired && taken.lock.message == "after the migration")
        #expect(try await old.open().lockStatus(environment: "production")?.message == "after the migration")
    }

    /// A store as Marshal left it before the lock message existed: created by today's code, then the
    /// column and its migration record removed, and a lock written the old way.
    private func makeOldSchemaStore(_ kind: StoreKind) async throws -> ContractStore {
        switch kind {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("marshal-contract-\(UUID().uuidString)").path
            let open: @Sendable () throws -> any JournalStore = { try SQLiteJournal(directory: directory, liveness: .unknown) }
            _ = try open()
            try Self.sql(["sqlite3", directory + "/journal.sqlite"], environment: [:], """
                ALTER TABLE locks DROP COLUMN message;
                DELETE FROM grdb_migrations WHERE identifier = 'v2-lock-message';
                INSERT INTO locks (environment, holder, pid, runId, since, leaseExpiresAt)
                  VALUES ('production', 'old@box', 1, 'r-old', '2026-11-24 03:35:01.123', '2099-01-01 00:00:00.000');
                """)
            return ContractStore(store: try open(), open: open, cleanup: { try? FileManager.default.removeItem(atPath: directory) })
        case .postgres:
            let url = try await TestPostgres.shared().database()
            let open: @Sendable () throws -> any JournalStore = { try PostgresJournal(url: url, liveness: .unknown) }
            _ = try open()
            let target = TestPostgres.passwordInEnvironment(url)
            try Self.sql(["/usr/lib/postgresql/15/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", target.url], environment: target.environment, """
                ALTER TABLE marshal.locks DROP COLUMN message;
                DELETE FROM marshal.schema_migrations WHERE version = 2;
                INSERT INTO marshal.locks (environment, holder, pid, run_id, since, lease_expires_at)
                  VALUES ('production', 'old@box', 1, 'r-old', now(), now() + interval '1 day');
                """)
            return ContractStore(store: try open(), open: open, cleanup: {})
        }
    }

    private static func sql(_ command: [String], environment: [String: String], _ script: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("marshal-sql-\(UUID().uuidString).sql").path
        try script.write(toFile: dir, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try Spawn.run(["/bin/sh", "-c", "\"$@\" < \"$0\"", dir] + command, environment: environment, timeout: 60)
        try #require(result.status == 0, "\(command[0]): \(result.stderr)")
    }
}
