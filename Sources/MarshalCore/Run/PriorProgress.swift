import Foundation

/// What an earlier run (and its resumes) already did, read back from the journal: which
/// step × host finished, with the evidence they recorded, and which were in flight.
public struct PriorProgress: Sendable {
    /// Identifies one step on one host within a run: phase, position, host, batch.
    public struct Key: Hashable, Sendable, CustomStringConvertible {
        public var phase: String
        public var ordinal: Int
        public var host: String?
        public var batch: Int?
        public init(phase: String, ordinal: Int, host: String?, batch: Int?) {
            self.phase = phase
            self.ordinal = ordinal
            self.host = host
            self.batch = batch
        }
        public var description: String { "\(phase) step \(ordinal) on \(host ?? "this machine")\(batch.map { " (batch \($0))" } ?? "")" }
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
    public var inFlight: [InFlight]
    /// Keys the operator chose to run again or to treat as done.
    public var rerun: Set<Key> = []

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
        for record in records where record.phase == .main || record.phase == .preflight {
            let key = Key(phase: record.phase.rawValue, ordinal: record.stepIndex, host: record.host, batch: record.batch)
            switch record.status {
            case .started:
                started[key] = record
            case .succeeded, .skipped, .ignoredFailure:
                started[key] = nil
                if finished[key] == nil { order.append(key) }
                let evidence = record.registeredJSON.flatMap { ExprValue.fromJSON(Array($0.utf8)) }.map(ConfigValue.init)
                finished[key] = Finished(key: key, name: record.name, stepId: record.stepId, evidence: evidence,
                                         succeeded: record.status == .succeeded)
            default:
                started[key] = nil
            }
        }
        for record in records where record.phase == .undo {
            // Undo of a step drops it from "done" on that host.
            for key in order where key.host == record.host && finished[key]?.name == record.name.replacingOccurrences(of: "undo ", with: "") {
                finished[key] = nil
            }
        }
        let inFlight = started.values.sorted { $0.sequence < $1.sequence }.map {
            InFlight(key: Key(phase: $0.phase.rawValue, ordinal: $0.stepIndex, host: $0.host, batch: $0.batch), name: $0.name, stepId: $0.stepId)
        }
        return PriorProgress(finished: order.compactMap { finished[$0] }, inFlight: inFlight)
    }

    public func isDone(_ key: Key) -> Bool {
        !rerun.contains(key) && finished.contains { $0.key == key }
    }

    public func evidence(for key: Key) -> ConfigValue? {
        finished.first { $0.key == key }?.evidence
    }
}
