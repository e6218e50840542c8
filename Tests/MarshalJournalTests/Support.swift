import Foundation
import MarshalCore
@testable import MarshalJournal

/// A fresh directory under the system temp dir, removed when the body ends.
func withScratchDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("marshal-journal-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try await body(directory)
}

/// A clock the test moves by hand, so lease expiry needs no sleeping.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date = Date(timeIntervalSince1970: 1_795_000_000)) { current = start }

    var now: Date { lock.withLock { current } }

    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}

/// Liveness of a make-believe machine whose live pids the test decides.
final class FakeProcesses: @unchecked Sendable {
    static let machine = "testbox"
    private let lock = NSLock()
    private var alive: Set<Int32> = []

    func start(_ pid: Int32) { _ = lock.withLock { alive.insert(pid) } }
    func kill(_ pid: Int32) { _ = lock.withLock { alive.remove(pid) } }

    var liveness: ProcessLiveness {
        ProcessLiveness(machine: Self.machine, isAlive: { [self] pid in lock.withLock { alive.contains(pid) } })
    }
}

/// Dates as the journal keeps them: to the millisecond.
func millis(_ date: Date) -> Date {
    Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
}

extension RunRecord {
    var normalized: RunRecord {
        var r = self
        r.startedAt = millis(r.startedAt)
        r.endedAt = r.endedAt.map(millis)
        return r
    }
}

extension StepRecord {
    var normalized: StepRecord {
        var s = self
        s.startedAt = millis(s.startedAt)
        s.endedAt = s.endedAt.map(millis)
        return s
    }
}

extension MeasurementRecord {
    var normalized: MeasurementRecord {
        var m = self
        m.recordedAt = millis(m.recordedAt)
        return m
    }
}

extension LockRecord {
    var normalized: LockRecord {
        var l = self
        l.since = millis(l.since)
        l.leaseExpiresAt = millis(l.leaseExpiresAt)
        return l
    }
}

func makeRun(
    _ id: String, environment: String = "production", runbook: String = "production-rollout",
    status: RunRecord.Status = .running, startedAt: Date, operatorName: String = "alice@testbox",
    pid: Int32 = 4242, kind: RunRecord.Kind = .rollout, parentRunId: String? = nil
) -> RunRecord {
    RunRecord(
        id: id, runbook: runbook, runbookPath: "Runbooks/\(runbook).yml", environment: environment,
        params: ["release": "v1.2.3", "token": Secret.mask], inputsJSON: #"{"vars":{"app_dir":"/srv/app"}}"#,
        status: status, startedAt: startedAt, operatorName: operatorName, pid: pid, kind: kind,
        parentRunId: parentRunId
    )
}
