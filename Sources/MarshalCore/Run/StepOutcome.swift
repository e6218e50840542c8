/// The result of one step on one host (or from this machine), before it is journaled.
public struct StepOutcome: Sendable {
    public enum Status: String, Sendable {
        case succeeded, failed, timedOut = "timed_out", skipped, ignoredFailure = "ignored_failure", inconclusive
        /// Waiting for an operator (`approve`, or a gate with no data and `on_no_data: pause`).
        case paused

        public var isFailure: Bool { self == .failed || self == .timedOut || self == .inconclusive }
    }

    public var status: Status
    public var exitStatus: Int32?
    public var signal: String?
    /// Already masked.
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    public var message: String?
    /// What later steps see as `steps.<id>` and what `register` stores.
    public var evidence: ConfigValue?
    public var attempts: Int
    public var command: String?
    public var measurements: [Measurement]

    public struct Measurement: Sendable {
        public var kind: MeasurementKind
        public var name: String
        public var outcome: MeasurementRecord.Outcome?
        public var expectation: String?
        public var value: Double?
        public var unit: String?
        public var payloadJSON: String?
        /// The host it measured when that is not the step's own (a canary load test's host).
        public var host: String? = nil

        public init(kind: MeasurementKind, name: String, outcome: MeasurementRecord.Outcome? = nil, expectation: String? = nil,
                    value: Double? = nil, unit: String? = nil, payloadJSON: String? = nil) {
            self.kind = kind
            self.name = name
            self.outcome = outcome
            self.expectation = expectation
            self.value = value
            self.unit = unit
            self.payloadJSON = payloadJSON
        }
    }

    public init(status: Status, exitStatus: Int32? = nil, signal: String? = nil, stdout: [UInt8] = [], stderr: [UInt8] = [],
                message: String? = nil, evidence: ConfigValue? = nil, attempts: Int = 1, command: String? = nil,
                measurements: [Measurement] = []) {
        self.status = status
        self.exitStatus = exitStatus
        self.signal = signal
        self.stdout = stdout
        self.stderr = stderr
        self.message = message
        self.evidence = evidence
        self.attempts = attempts
        self.command = command
        self.measurements = measurements
    }

    public static func failed(_ message: String, command: String? = nil) -> StepOutcome {
        StepOutcome(status: .failed, message: message, command: command)
    }
}
