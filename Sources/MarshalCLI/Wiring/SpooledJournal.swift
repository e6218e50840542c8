import Foundation
import MarshalCore

/// A shared store with a local spool: what a run could not write while the store was away (step
/// ends, measurements, the run's final status) is appended to `.marshal/spool/RUN.jsonl` (synced to
/// disk), and the next command against the store uploads it, so nothing measured is lost.
/// Step starts are never spooled: no step starts unless its start is recorded in the store.
final class SpooledJournal: JournalStore {
    let inner: any JournalStore
    private let directory: String
    private let upload = UploadOnce()
    var location: String { inner.location }

    /// One spooled write.
    enum Entry: Codable {
        case finishes([StepFinish])
        case measurement(MeasurementRecord)
        case update(runId: String, RunUpdate)
    }

    init(inner: any JournalStore, directory: String) {
        self.inner = inner
        self.directory = directory
    }

    actor UploadOnce {
        private var done = false
        func run(_ body: () async -> Void) async {
            guard !done else { return }
            done = true
            await body()
        }
    }

    /// Uploads every spool file, oldest first; a file is removed once all its entries are written.
    private func uploadSpool() async {
        await upload.run {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
            for name in names.sorted() where name.hasSuffix(".jsonl") {
                let path = directory + "/" + name
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
                do {
                    for line in text.split(separator: "\n") {
                        switch try JSONDecoder().decode(Entry.self, from: Data(line.utf8)) {
                        case .finishes(let items): try await inner.finishSteps(items)
                        case .measurement(let m): try await inner.recordMeasurement(m)
                        case .update(let id, let update): try await inner.updateRun(id: id, update)
                        }
                    }
                    try FileManager.default.removeItem(atPath: path)
                    Terminal.stderr("note: uploaded \(name) from the spool to \(inner.location)")
                } catch {
                    Terminal.stderr("warning: the spool \(path) could not be uploaded yet (\(error)); it is kept for the next command")
                    return
                }
            }
        }
    }

    /// Writes or spools: a store that cannot be reached gets the entry appended to the run's spool file.
    private func writeOrSpool(runId: String, _ entry: Entry, _ write: () async throws -> Void) async throws {
        await uploadSpool()
        do {
            try await write()
        } catch let error as JournalError {
            switch error {
            case .unreachable, .busy, .busyHeldBy: try spool(runId: runId, entry, because: error)
            default: throw error
            }
        }
    }

    private func spool(runId: String, _ entry: Entry, because error: JournalError) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/" + runId + ".jsonl"
        var line = try JSONEncoder().encode(entry)
        line.append(0x0A)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard fd >= 0 else { throw error }
        defer { Glibc.close(fd) }
        let written = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(fd) == 0 else { throw error }
        Terminal.stderr("note: \(inner.location) cannot be reached; kept in \(path) for the next command to upload")
    }

    // MARK: Spooled writes

    func finishStep(runId: String, sequence: Int, _ completion: StepCompletion) async throws {
        try await finishSteps([StepFinish(runId: runId, sequence: sequence, completion: completion)])
    }

    func finishSteps(_ items: [StepFinish]) async throws {
        guard let runId = items.first?.runId else { return }
        try await writeOrSpool(runId: runId, .finishes(items)) { try await inner.finishSteps(items) }
    }

    func commitBoundary(finishes: [StepFinish], starts: [StepRecord]) async throws -> [Int] {
        try await commitBoundary(finishes: finishes, starts: starts, renewing: nil)
    }

    func commitBoundary(finishes: [StepFinish], starts: [StepRecord], renewing claim: LockClaim?) async throws -> [Int] {
        await uploadSpool()
        if starts.isEmpty, claim == nil {
            try await finishSteps(finishes)
            return []
        }
        return try await inner.commitBoundary(finishes: finishes, starts: starts, renewing: claim)
    }

    @discardableResult
    func recordMeasurement(_ measurement: MeasurementRecord) async throws -> Int {
        var id = 0
        try await writeOrSpool(runId: measurement.runId, .measurement(measurement)) { id = try await inner.recordMeasurement(measurement) }
        return id
    }

    func updateRun(id: String, _ update: RunUpdate) async throws {
        try await writeOrSpool(runId: id, .update(runId: id, update)) { try await inner.updateRun(id: id, update) }
    }

    // MARK: Everything else goes to the store (after the spool is uploaded)

    func createRun(_ run: RunRecord) async throws { await uploadSpool(); try await inner.createRun(run) }
    func runs(matching query: RunQuery) async throws -> [RunRecord] { await uploadSpool(); return try await inner.runs(matching: query) }
    func run(id reference: String, environment: String?) async throws -> RunRecord {
        await uploadSpool()
        return try await inner.run(id: reference, environment: environment)
    }
    @discardableResult
    func reconcileInterrupted() async throws -> [String] { await uploadSpool(); return try await inner.reconcileInterrupted() }
    func appendStep(_ step: StepRecord) async throws -> Int { try await inner.appendStep(step) }
    func appendSteps(_ steps: [StepRecord]) async throws -> [Int] { try await inner.appendSteps(steps) }
    func steps(runId: String) async throws -> [StepRecord] { await uploadSpool(); return try await inner.steps(runId: runId) }
    func measurements(runId: String) async throws -> [MeasurementRecord] { await uploadSpool(); return try await inner.measurements(runId: runId) }
    func importRun(_ run: RunRecord, steps: [StepRecord], measurements: [MeasurementRecord]) async throws -> Bool {
        try await inner.importRun(run, steps: steps, measurements: measurements)
    }
    func acquireLock(environment: String, holder: String, pid: Int32, runId: String, lease: Duration,
                     message: String?) async throws -> LockAcquisition {
        await uploadSpool()
        return try await inner.acquireLock(environment: environment, holder: holder, pid: pid, runId: runId, lease: lease, message: message)
    }
    func takeOverStaleLock(environment: String, stale: LockRecord, holder: String, pid: Int32, runId: String, lease: Duration,
                           message: String?) async throws -> LockAcquisition {
        try await inner.takeOverStaleLock(environment: environment, stale: stale, holder: holder, pid: pid, runId: runId, lease: lease,
                                          message: message)
    }
    @discardableResult
    func renewLock(environment: String, runId: String, lease: Duration) async throws -> LockRecord {
        try await inner.renewLock(environment: environment, runId: runId, lease: lease)
    }
    @discardableResult
    func releaseLock(environment: String, runId: String) async throws -> Bool { try await inner.releaseLock(environment: environment, runId: runId) }
    @discardableResult
    func forceReleaseLock(environment: String) async throws -> LockRecord? { try await inner.forceReleaseLock(environment: environment) }
    func lockStatus(environment: String) async throws -> LockRecord? { await uploadSpool(); return try await inner.lockStatus(environment: environment) }
    func currentTime() async throws -> Date { try await inner.currentTime() }
}
