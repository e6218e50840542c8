import Foundation

/// What an earlier run (and its resumes) already did, read back from the journal: which
/// step × host finished, with the evidence they recorded, and which were in flight.
public struct PriorProgress: Sendable {
    /// Identifies one step on one host within a run: phase, position, host, batch.
    public struct Key: Hashable, Sendable, CustomStringConvertible {
        public var phase: StepRecord.Phase
        public var ordinal: Int
        public var host: String?
        public var batch: Int?
        public init(phase: StepRecord.Phase, ordinal: Int, host: String?, batch: Int?) {
            self.phase = phase
            self.ordinal = ordinal
            self.host = host
            self.batch = batch
        }
        public var description: String { "\(phase.rawValue) step \(ordinal) on \(host ?? "this machine")\(batch.map { " (batch \($0))" } ?? "")" }
    }

    public struct Finished: Sendable {
        public var key: Key
        public var name: String
        public var stepId: String?
        public var evidence: ConfigValue?
        public var succeeded: Bool
        public init(key: Key, name: String, stepId: String?, evidence: ConfigValue?, succeeded: Bool) {
            self.key = key
            self.name = name
            self.stepId = stepId
            self.evidence = evidence
            self.succeeded = succeeded
        }
    }

    public struct InFlight: Sendable {
        public var key: Key
        public var name: String
        public var stepId: String?

        public init(key: Key, name: String, stepId: String?) {
            self.key = key
            self.name = name
            self.stepId = stepId
        }
    }

    /// In journal order.
    public var finished: [Finished]
    /// Main steps whose last attempt failed, with the evidence they left (a failed step may
    /// have changed something: see `Step.undoesFailure`).
    public var failed: [Finished] = []
    public var inFlight: [InFlight]
    /// Keys the operator chose to run again or to treat as done.
    public var rerun: Set<Key> = []
    /// How the last attempt at each undo ended (`started`: in flight when the run stopped).
    public var undos: [UndoKey: StepRecord.Status] = [:]
    /// The run decided to roll back (its rollback marker is in the journal): a resume continues
    /// the rollback and never runs forward steps again.
    public var rollingBack = false

    public init(finished: [Finished] = [], inFlight: [InFlight] = []) {
        self.finished = finished
        self.inFlight = inFlight
    }

    /// Reads the step records of a run chain (oldest first). An undo record ends the story of
    /// the step it undid, so a rolled-back step counts as not done.
    public static func from(_ records: [StepRecord]) -> PriorProgress {
        var finished: [Key: Finished] = [:]
        var order: [Key] = []
        var started: [Key: StepRecord] = [:]
        var failedByKey: [Key: Finished] = [:]
        var failedOrder: [Key] = []
        for record in records where record.phase == .main || record.phase == .preflight {
            let key = Key(phase: record.phase, ordinal: record.stepIndex, host: record.host, batch: record.batch)
            switch record.status {
            case .started:
                started[key] = record
            case .failed, .timedOut:
                started[key] = nil
                if record.phase == .main {
                    let evidence = record.registeredJSON.flatMap { ExprValue.fromJSON(Array($0.utf8)) }.map(ConfigValue.init)
                    failedByKey[key] = Finished(key: key, name: record.name, stepId: record.stepId, evidence: evidence, succeeded: false)
                    failedOrder.append(key)
                }
            case .succeeded, .skipped, .ignoredFailure:
                started[key] = nil
                failedByKey[key] = nil
                if finished[key] == nil { order.append(key) }
                let evidence = record.registeredJSON.flatMap { ExprValue.fromJSON(Array($0.utf8)) }.map(ConfigValue.init)
                finished[key] = Finished(key: key, name: record.name, stepId: record.stepId, evidence: evidence,
                                         succeeded: record.status == .succeeded)
            default:
                started[key] = nil
            }
        }
        // Undos are keyed by the step they undo (its ordinal, host and batch) and the part of the
        // undo (a release's switch back, the step's own `undo`); the last attempt's status counts,
        // so a failed or interrupted undo stays pending until one succeeds.
        var undos: [UndoKey: StepRecord.Status] = [:]
        var rollingBack = false
        for record in records where record.phase == .undo {
            if record.kind == UndoKey.markerKind {
                rollingBack = true
                continue
            }
            guard let part = UndoKey.Part(recordKind: record.kind) else { continue }
            undos[UndoKey(ordinal: record.stepIndex, host: record.host, batch: record.batch ?? 0, part: part)] = record.status
        }
        let inFlight = started.values.sorted { $0.sequence < $1.sequence }.map {
            InFlight(key: Key(phase: $0.phase, ordinal: $0.stepIndex, host: $0.host, batch: $0.batch), name: $0.name, stepId: $0.stepId)
        }
        var progress = PriorProgress(finished: order.compactMap { finished[$0] }, inFlight: inFlight)
        progress.undos = undos
        var seenFailed = Set<Key>()
        progress.failed = failedOrder.reversed().filter { seenFailed.insert($0).inserted }.reversed().compactMap { failedByKey[$0] }
        progress.rollingBack = rollingBack
        return progress
    }

    public func isDone(_ key: Key) -> Bool {
        !rerun.contains(key) && finished.contains { $0.key == key }
    }

    public func evidence(for key: Key) -> ConfigValue? {
        finished.first { $0.key == key }?.evidence
    }
}

/// One part of undoing one step on one host, as the journal records it.
public struct UndoKey: Hashable, Sendable {
    public enum Part: String, Sendable, Hashable {
        /// A release's automatic switch of `current` back to the release live before it.
        case switchBack
        /// The step's own `undo` step (or, with `undo_on_failure`, the undo of a failed step).
        case undoStep

        /// Undo records are `undo:release` for the switch back and `undo:<kind>` for an undo step.
        init?(recordKind: String) {
            guard recordKind.hasPrefix("undo:") else { return nil }
            self = recordKind == UndoKey.switchBackKind ? .switchBack : .undoStep
        }
    }

    /// The journal kind of a release's switch back.
    public static let switchBackKind = "undo:release"
    /// The journal kind of the record a run writes when it decides to roll back.
    public static let markerKind = "rollback"

    public var ordinal: Int
    public var host: String?
    public var batch: Int
    public var part: Part

    public init(ordinal: Int, host: String?, batch: Int, part: Part) {
        self.ordinal = ordinal
        self.host = host
        self.batch = batch
        self.part = part
    }
}
