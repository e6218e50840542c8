/// What a run would do, where, in which order: the output of `marshal plan`, and the skeleton
/// the orchestrator follows. Every text in it is safe to print (secrets masked).
public struct Plan: Sendable, Encodable {
    public struct Action: Sendable, Encodable {
        /// Host the action runs on or for; nil when it runs once from this machine.
        public var host: String?
        /// The step's rendered command or request, masked.
        public var detail: String
        /// True when the step runs on the host over SSH (or locally); false when from this machine.
        public var remote: Bool
        public var undo: String?
    }

    public struct PlannedStep: Sendable, Encodable {
        public var index: Int
        public var id: String?
        public var name: String
        public var kind: String
        /// "each-host", "once-per-batch" or "once".
        public var scope: String
        public var when: String?
        public var actions: [Action]
    }

    public struct Batch: Sendable, Encodable {
        public var index: Int
        public var hosts: [String]
        public var steps: [PlannedStep]
    }

    public var runbook: String
    public var runbookPath: String
    public var environment: String
    public var protected: Bool
    public var params: [String: String]
    public var targets: [String]
    public var maxFailures: String
    public var onFailure: String
    public var preflight: [PlannedStep]
    public var batches: [Batch]
}
