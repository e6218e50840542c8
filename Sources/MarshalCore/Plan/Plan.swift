/// What a run does, where, in which order: the output of `marshal plan` and the program the
/// orchestrator executes (its batches, each step's hosts, once-only steps, the failure budget).
/// Every text in it is safe to print (secrets masked).
public struct Plan: Sendable, Encodable {
    public struct Action: Sendable, Encodable {
        /// Host the action runs on or for; nil when it runs once from this machine.
        public var host: String?
        /// The step's rendered command or request, masked, in words.
        public var detail: String
        /// True when the step runs on the host over SSH (or locally); false when from this machine.
        public var remote: Bool
        /// The exact commands the step sends to the host, masked, one per line: what the journal
        /// records as the step's `command`. Values known only at run time are references
        /// (`{{ steps.backup.path }}`, `{{ run.id }}`). nil for steps that send no command.
        public var command: String?
        public var undo: String?
        /// The exact commands of the undo step, as `command`.
        public var undoCommand: String?
    }

    public struct PlannedStep: Sendable, Encodable {
        /// Position among the run's steps with includes expanded (the journal's step index).
        public var index: Int
        /// Position as written: `3`, or `3.2` for the second step of the runbook step 3 includes.
        public var label: String
        public var id: String?
        public var name: String
        public var kind: String
        /// "each-host", "once-per-batch" or "once".
        public var scope: String
        public var when: String?
        public var actions: [Action]
        /// The step the actions run, with the params it sees (not printed).
        public var expanded: ExpandedStep

        enum CodingKeys: String, CodingKey { case index, label, id, name, kind, scope, when, actions }

        /// The hosts it runs on (nil: once from this machine), in the plan's order.
        public var hostNames: [String?] { actions.map(\.host) }
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
    /// How many target hosts may fail before the run stops (`max_failures` over the targets).
    public var toleratedFailures: Int
    public var onFailure: String
    public var preflight: [PlannedStep]
    public var batches: [Batch]
    /// The runbook's `rollback:` list, in order: what runs after a failure (`on_failure: rollback`)
    /// or on `marshal rollback`, on the hosts the failed run touched (planned here on every target).
    /// What only the failure knows (`failed_run.*`, `steps.*`) stays a reference.
    public var rollback: [PlannedStep]
    /// The steps of the `on_failure: { run: }` runbook, as the run runs them after a failure: in
    /// this run, on that runbook's own targets, its params rendered (what only the failure knows
    /// stays a reference). Empty when the runbook names none or its name is known only then.
    public var onFailureRun: [PlannedStep]
    /// Every host the run connects to: the targets, then the hosts of `on:` steps that run there.
    public var involvedHosts: [String]
}
