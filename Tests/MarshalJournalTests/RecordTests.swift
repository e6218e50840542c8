import Foundation
import MarshalCore
import Testing
@testable import MarshalJournal

@Suite("Journal records")
struct RecordTests {
    let clock = TestClock()
    let processes = FakeProcesses()

    func open(_ directory: String) throws -> SQLiteJournal {
        try SQLiteJournal(directory: directory, clock: { [clock] in clock.now }, liveness: processes.liveness)
    }

    @Test("opening creates the directory and a WAL journal that syncs every commit")
    func opens() async throws {
        try await withScratchDirectory { directory in
            let nested = directory + "/state/.marshal"
            let journal = try open(nested)
            #expect(journal.location == nested + "/journal.sqlite")
            #expect(FileManager.default.fileExists(atPath: journal.location))
            #expect(try journal.pragma("journal_mode") == "wal")
            #expect(try journal.pragma("synchronous") == "2")  // FULL
            #expect(try journal.pragma("foreign_keys") == "1")
            // Reopening an existing journal migrates nothing and keeps working.
            _ = try open(nested)
        }
    }

    @Test("a run round-trips with every field, and updates keep what they do not change")
    func runRoundTrip() async throws {
        try await withScratchDirectory { directory in
            let journal = try open(directory)
            var run = makeRun("20261124-033501-a1b2", startedAt: clock.now.addingTimeInterval(0.123))
            run.parentRunId = "20261123-120000-0001"
            run.kind = .rollback
            run.failureSummary = nil
            processes.start(run.pid)
            let acquisition = try await journal.acquireLock(
                environment: run.environment, holder: run.operatorName, pid: run.pid, runId: run.id, lease: .seconds(60)
            )
            try #require(acquisition.isAcquired)
            try await journal.createRun(run)
            #expect(try await journal.run(id: run.id, environment: nil).normalized == run.normalized)

            let end = clock.now.addingTimeInterval(42.5)
            try await journal.updateRun(id: run.id, status: .failed, endedAt: end, failureSummary: "step 3 failed on web1")
            try await journal.updateRun(id: run.id, status: .rolledBack)
            var expected = run.normalized
            expected.status = .rolledBack
            expected.endedAt = millis(end)
            expected.failureSummary = "step 3 failed on web1"
            #expect(try await journal.run(id: run.id, environment: nil).normalized == expected)

            await #expect(throws: JournalError.duplicateRun(id: run.id, journal: journal.location)) {
                try await journal.createRun(run)
            }
            await #expect(throws: JournalError.runNotFound(reference: "nope", environment: nil, journal: journal.location)) {
                try await journal.updateRun(id: "nope", status: .failed)
            }
        }
    }

    @Test("steps get sequence numbers in order and their ending is written over the start")
    func stepRoundTrip() async throws {
        try await withScratchDirectory { directory in
            let journal = try open(directory)
            let run = makeRun("r1", status: .succeeded, startedAt: clock.now)
            try await journal.createRun(run)

            let start = clock.now.addingTimeInterval(1.001)
            let first = StepRecord(
                runId: "r1", stepIndex: 0, stepId: "backup", name: "Back up the database", kind: "backup",
                phase: .main, host: "db1", batch: 0, startedAt: start, command: "pg_dump '***' > /tmp/b.sql"
            )
            let second = StepRecord(
                runId: "r1", stepIndex: 1, name: "Undo migrations", kind: "undo:shell", phase: .undo, host: nil,
                batch: nil, status: .skipped, startedAt: start, endedAt: start, message: "nothing to undo"
            )
            #expect(try await journal.appendStep(first) == 1)
            #expect(try await journal.appendStep(second) == 2)

            let completion = StepCompletion(
                status: .failed, endedAt: start.addingTimeInterval(3.5), exitStatus: 2, signal: "TERM",
                stdout: "dumped\n", stderr: "pg_dump: error: connection refused\n",
                registeredJSON: #"{"path":"/tmp/b.sql"}"#, attempts: 3, message: "exit status 2 after 3 attempts"
            )
            try await journal.finishStep(runId: "r1", sequence: 1, completion)

            var finished = first
            finished.sequence = 1
            finished.status = .failed
            finished.endedAt = completion.endedAt
            finished.exitStatus = 2
            finished.signal = "TERM"
            finished.stdout = completion.stdout
            finished.stderr = completion.stderr
            finished.registeredJSON = completion.registeredJSON
            finished.attempts = 3
            finished.message = completion.message
            var skipped = second
            skipped.sequence = 2
            #expect(try await journal.steps(runId: "r1").map(\.normalized) == [finished.normalized, skipped.normalized])
            #expect(try await journal.steps(runId: "other").isEmpty)

            await #expect(throws: JournalError.stepNotFound(runId: "r1", sequence: 9, journal: journal.location)) {
                try await journal.finishStep(runId: "r1", sequence: 9, completion)
            }
            await #expect(throws: JournalError.runNotFound(reference: "ghost", environment: nil, journal: journal.location)) {
                _ = try await journal.appendStep(StepRecord(runId: "ghost", stepIndex: 0, name: "x", kind: "shell", startedAt: start))
            }
        }
    }

    @Test("measurements round-trip with and without a step, host and outcome")
    func measurementRoundTrip() async throws {
        try await withScratchDirectory { directory in
            let journal = try open(directory)
            try await journal.createRun(makeRun("r1", status: .succeeded, startedAt: clock.now))
            let step = try await journal.appendStep(StepRecord(runId: "r1", stepIndex: 5, name: "Latency gate", kind: "benchmark", startedAt: clock.now))
            let gate = MeasurementRecord(
                runId: "r1", stepSequence: step, host: nil, kind: "benchmark", name: "p95", outcome: .passed,
                expectation: "p95 < 500ms", value: 231.75, unit: "ms",
                payloadJSON: #"{"histogram":[[1,2],[3,4]],"endpoints":{"/api":{"p95":231.75}}}"#, recordedAt: clock.now
            )
            let backup = MeasurementRecord(
                runId: "r1", host: "db1", kind: "backup", name: "backup", payloadJSON: #"{"path":"/b.sql","size":10,"sha256":"ab"}"#,
                recordedAt: clock.now.addingTimeInterval(0.5)
            )
            let gateId = try await journal.recordMeasurement(gate)
            let backupId = try await journal.recordMeasurement(backup)
            #expect(backupId > gateId)

            var storedGate = gate
            storedGate.id = gateId
            var storedBackup = backup
            storedBackup.id = backupId
            #expect(try await journal.measurements(runId: "r1").map(\.normalized) == [storedGate.normalized, storedBackup.normalized])

            var orphan = gate
            orphan.stepSequence = 99
            await #expect(throws: JournalError.self) { try await journal.recordMeasurement(orphan) }
        }
    }

    @Test("`last`, ids and unique prefixes resolve to runs, within an environment when given")
    func resolution() async throws {
        try await withScratchDirectory { directory in
            let journal = try open(directory)
            await #expect(throws: JournalError.runNotFound(reference: "last", environment: nil, journal: journal.location)) {
                try await journal.run(id: "last", environment: nil)
            }
            let t = clock.now
            try await journal.createRun(makeRun("20261124-010000-aaaa", environment: "staging", status: .succeeded, startedAt: t))
            try await journal.createRun(makeRun("20261124-020000-bbbb", environment: "production", status: .failed, startedAt: t + 3600))
            try await journal.createRun(makeRun("20261124-030000-cccc", environment: "staging", status: .succeeded, startedAt: t + 7200))
            // Same second as the previous one: insertion order breaks the tie.
            try await journal.createRun(makeRun("20261124-030000-0000", environment: "staging", status: .aborted, startedAt: t + 7200))

            #expect(try await journal.run(id: "last", environment: nil).id == "20261124-030000-0000")
            #expect(try await journal.run(id: "last", environment: "production").id == "20261124-020000-bbbb")
            #expect(try await journal.run(id: "20261124-01", environment: nil).id == "20261124-010000-aaaa")
            #expect(try await journal.run(id: "20261124-020000-bbbb", environment: "production").status == .failed)
            await #expect(throws: JournalError.runNotFound(reference: "last", environment: "qa", journal: journal.location)) {
                try await journal.run(id: "last", environment: "qa")
            }
            await #expect(throws: JournalError.ambiguousRun(reference: "20261124-03", candidates: ["20261124-030000-0000", "20261124-030000-cccc"], journal: journal.location)) {
                try await journal.run(id: "20261124-03", environment: nil)
            }
            await #expect(throws: JournalError.runInOtherEnvironment(id: "20261124-010000-aaaa", environment: "staging", expected: "production")) {
                try await journal.run(id: "20261124-010000-aaaa", environment: "production")
            }
            #expect(try await journal.runs(environment: "staging").map(\.id) == ["20261124-030000-0000", "20261124-030000-cccc", "20261124-010000-aaaa"])
            #expect(try await journal.runs(limit: 2).map(\.id) == ["20261124-030000-0000", "20261124-030000-cccc"])
        }
    }

    @Test("the report baseline is the newest succeeded rollout of the runbook, other than the run itself")
    func baseline() async throws {
        try await withScratchDirectory { directory in
            let journal = try open(directory)
            let t = clock.now
            try await journal.createRun(makeRun("a", status: .succeeded, startedAt: t))
            try await journal.createRun(makeRun("b", runbook: "other", status: .succeeded, startedAt: t + 1))
            try await journal.createRun(makeRun("c", status: .failed, startedAt: t + 2))
            try await journal.createRun(makeRun("d", status: .succeeded, startedAt: t + 3, kind: .rollback))
            try await journal.createRun(makeRun("e", status: .succeeded, startedAt: t + 4))
            try await journal.createRun(makeRun("f", environment: "staging", status: .succeeded, startedAt: t + 5))

            #expect(try await journal.lastSuccessfulRun(environment: "production", runbook: "production-rollout")?.id == "e")
            #expect(try await journal.lastSuccessfulRun(environment: "production", runbook: "production-rollout", excluding: "e")?.id == "a")
            #expect(try await journal.lastSuccessfulRun(environment: "qa", runbook: "production-rollout") == nil)
            #expect(try await journal.lastRun(environment: "production", kinds: [.rollback])?.id == "d")
        }
    }
}

@Suite("Journal errors")
struct ErrorTests {
    @Test("a journal directory that cannot be created is reported with its path and what to do")
    func cannotCreate() async throws {
        try await withScratchDirectory { directory in
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let file = directory + "/not-a-dir"
            #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
            #expect {
                _ = try SQLiteJournal(directory: file + "/.marshal", liveness: .unknown)
            } throws: { error in
                guard case .cannotOpen(let journal, _) = error as? JournalError else { return false }
                return journal == file + "/.marshal/journal.sqlite"
                    && "\(error)".contains("--state")
            }
        }
    }

    @Test("a file that is not a journal is refused, not overwritten")
    func notADatabase() async throws {
        try await withScratchDirectory { directory in
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let garbage = Data(repeating: 0x42, count: 8192)
            #expect(FileManager.default.createFile(atPath: directory + "/journal.sqlite", contents: garbage))
            #expect {
                _ = try SQLiteJournal(directory: directory, liveness: .unknown)
            } throws: { error in
                guard case .damaged(_, let reason) = error as? JournalError else { return false }
                return reason.contains("damaged")
            }
            #expect(FileManager.default.contents(atPath: directory + "/journal.sqlite") == garbage)
        }
    }

    @Test("a journal from a newer marshal is left untouched and reported")
    func newerSchema() async throws {
        try await withScratchDirectory { directory in
            let journal = try SQLiteJournal(directory: directory, liveness: .unknown)
            try journal.simulateNewerSchema()
            #expect(throws: JournalError.newerSchema(journal: journal.location)) {
                _ = try SQLiteJournal(directory: directory, liveness: .unknown)
            }
        }
    }

    @Test("an empty or negative limit lists nothing instead of crashing; an empty id matches nothing")
    func edges() async throws {
        try await withScratchDirectory { directory in
            let journal = try SQLiteJournal(directory: directory, liveness: .unknown)
            try await journal.createRun(makeRun("a", status: .succeeded, startedAt: Date()))
            #expect(try await journal.runs(limit: 0).isEmpty)
            #expect(try await journal.runs(matching: RunQuery(statuses: [.interrupted], limit: -1)).isEmpty)
            await #expect(throws: JournalError.self) { try await journal.run(id: "", environment: nil) }
        }
    }

    @Test("messages name the journal and tell the operator what to do")
    func messages() {
        let lock = LockRecord(environment: "production", holder: "bob@ci", pid: 7, runId: "r2", since: Date(timeIntervalSince1970: 0), leaseExpiresAt: Date(timeIntervalSince1970: 60))
        #expect("\(JournalError.lockNotHeld(environment: "production", runId: "r1", current: lock, journal: "/j"))"
            .contains("bob@ci (pid 7, run r2)"))
        #expect("\(JournalError.runNotFound(reference: "last", environment: "qa", journal: "/j"))" == "no runs of environment qa in the journal /j yet")
        #expect("\(JournalError.busy(journal: "/j", operation: "record step x"))".contains("retry"))
    }
}
