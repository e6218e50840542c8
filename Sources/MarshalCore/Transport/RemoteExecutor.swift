/// How to reach one host; built by the planner from an environment, consumed by a `Connector`.
public struct HostEndpoint: Sendable, Hashable {
    public enum HostKeyChecking: String, Sendable, Hashable, Codable { case strict, acceptNew = "accept-new" }
    public enum Authentication: Sendable, Hashable {
        case identityFile(path: String, passphrase: Secret?)
        case agent
    }

    public var name: String
    public var address: String
    public var port: Int
    public var user: String
    public var authentication: Authentication
    public var knownHostsPath: String
    public var hostKeyChecking: HostKeyChecking
    public var connectTimeout: Duration
    /// ProxyJump host, reached first; its own endpoint settings apply to it.
    public indirect enum Jump: Sendable, Hashable { case none, via(HostEndpoint) }
    public var jump: Jump
    public var isLocal: Bool
    /// See `SSHSettings.keepaliveInterval`; zero: off.
    public var keepaliveInterval: Duration = .seconds(15)
    public var keepaliveCount: Int = 4

    public init(
        name: String, address: String, port: Int = 22, user: String,
        authentication: Authentication, knownHostsPath: String,
        hostKeyChecking: HostKeyChecking = .strict, connectTimeout: Duration = .seconds(10),
        jump: Jump = .none, isLocal: Bool = false
    ) {
        self.name = name
        self.address = address
        self.port = port
        self.user = user
        self.authentication = authentication
        self.knownHostsPath = knownHostsPath
        self.hostKeyChecking = hostKeyChecking
        self.connectTimeout = connectTimeout
        self.jump = jump
        self.isLocal = isLocal
    }
}

/// A live connection to one host: run commands, put files. One per host, reused by every step.
public protocol RemoteExecutor: Sendable {
    var hostName: String { get }
    /// Runs `command` through the host's shell; stdout and stderr are read completely and separately.
    /// A command still running at `timeout` is stopped and reported as `.timedOut`.
    func run(_ command: ShellCommand, timeout: Duration?) async throws(TransportError) -> CommandResult
    /// Copies a local file to `remotePath` and checks its sha256 on the far side.
    func upload(localPath: String, remotePath: String, mode: Int32) async throws(TransportError) -> UploadResult
    func close() async
}

/// Opens connections; SSH and local implementations live in adapters.
public protocol Connector: Sendable {
    func connect(_ endpoint: HostEndpoint) async throws(TransportError) -> any RemoteExecutor
}
