import Foundation

/// What a run reports as it goes: the CLI turns these into a live view, plain lines or JSON.
public enum RunEvent: Sendable {
    case runStarted(runId: String, runbook: String, environment: String, hosts: [String], batches: [[String]])
    case phaseStarted(name: String)
    case batchStarted(index: Int, of: Int, hosts: [String])
    case stepStarted(StepRef)
    case stepFinished(StepRef, StepReport)
    /// A long step's progress, about once a second while it runs.
    case progress(StepRef, StepProgress)
    case batchFinished(index: Int, failedHosts: [String])
    case message(String)
    case runFinished(runId: String, status: String, summary: String, duration: Duration)

    /// Which step, where.
    public struct StepRef: Sendable, Encodable {
        public var index: Int
        public var name: String
        public var kind: String
        public var phase: String
        public var host: String?
        public var batch: Int?
    }

    /// How it ended, with a short masked message and excerpt.
    public struct StepReport: Sendable, Encodable {
        public var status: String
        public var duration: Double
        public var exitStatus: Int32?
        public var attempts: Int
        public var message: String?
        public var output: String?
    }
}

/// Receives run events; implementations must be quick (they run on the orchestrator's task).
public protocol RunObserver: Sendable {
    func handle(_ event: RunEvent)
}
