/// Where a step runs and what it may talk to: its host (nil: once from this machine), that host's
/// connection, the HTTP gates, and the executor (for kinds that run other steps, like `soak`).
public struct StepTarget: Sendable {
    public var host: HostSpec?
    public var connections: HostConnections
    public var gates: (any GateRunner)?
    public var executor: StepExecutor
    /// What this attempt sent, for the journal.
    let sent: SentCommands
    let masker: SecretMasker
    /// The redis gate's client (TCP from this machine); nil where not wired.
    public var redis: (any RedisClient)?

    init(host: HostSpec?, connections: HostConnections, gates: (any GateRunner)?, executor: StepExecutor,
         sent: SentCommands, masker: SecretMasker, redis: (any RedisClient)? = nil) {
        self.host = host
        self.connections = connections
        self.gates = gates
        self.executor = executor
        self.sent = sent
        self.masker = masker
        self.redis = redis
    }

    /// The host this step needs, connected (opened on first use, shared by the run).
    public func remote(for step: Step) async throws(StepFailure) -> (host: HostSpec, executor: any RemoteExecutor) {
        guard let host else { throw StepFailure("a \(step.kind.name) step needs a host") }
        switch await connections.executor(for: host) {
        case .success(let executor): return (host, RecordingExecutor(inner: executor, sent: sent, masker: masker))
        case .failure(let error): throw StepFailure(error.description)
        }
    }

    /// The HTTP client and load generator, for kinds that talk HTTP from this machine.
    public func httpGates(for step: Step) throws(StepFailure) -> any GateRunner {
        guard let gates else {
            throw StepFailure("\(step.kind.name) steps need the HTTP adapter, which this command was not built with")
        }
        return gates
    }
}
