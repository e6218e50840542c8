/// An environment file: the hosts a runbook runs on, how to reach them, their vars and secrets.
public struct Environment: Sendable, Hashable {
    public var name: String
    public var path: String
    public var location: SourceLocation
    public var protected: Bool
    public var transport: Transport
    public var ssh: SSHSettings
    /// In file order; the order batches are formed in.
    public var hosts: [HostSpec]
    public var vars: [ConfigEntry]
    public var secrets: [SecretSource]
    /// Where the journal and lock live for this environment (`state:`), if not the default `.marshal`.
    public var state: StateSource?
    /// The host that holds the environment lock with the embedded store (`lock_host:`); the first host when nil.
    public var lockHost: String?

    public init(
        name: String, path: String, location: SourceLocation, protected: Bool = false,
        transport: Transport = .ssh, ssh: SSHSettings = SSHSettings(), hosts: [HostSpec] = [],
        vars: [ConfigEntry] = [], secrets: [SecretSource] = [], state: StateSource? = nil
    ) {
        self.name = name
        self.path = path
        self.location = location
        self.protected = protected
        self.transport = transport
        self.ssh = ssh
        self.hosts = hosts
        self.vars = vars
        self.secrets = secrets
        self.state = state
    }

    public func host(named name: String) -> HostSpec? { hosts.first { $0.name == name } }

    public var roles: [String] {
        var seen: [String] = []
        for role in hosts.flatMap(\.roles) where !seen.contains(role) { seen.append(role) }
        return seen
    }
}

public enum Transport: String, Sendable, Hashable, CaseIterable { case ssh, local }

public struct SSHSettings: Sendable, Hashable {
    public var user: String?
    public var identity: String?
    /// Name of a secret holding the identity's passphrase.
    public var passphraseSecret: String?
    public var agent: Bool
    public var knownHosts: String?
    public var hostKeyChecking: HostEndpoint.HostKeyChecking
    public var jump: String?
    public var connectTimeout: Duration
    /// SSH keepalive (OpenSSH's ServerAliveInterval/CountMax): a host that answers none of
    /// `keepaliveCount` keepalives sent `keepaliveInterval` apart is dropped as not answering.
    /// An interval of zero switches keepalive off.
    public var keepaliveInterval: Duration = .seconds(15)
    public var keepaliveCount: Int = 4
    public var location: SourceLocation?

    public init(
        user: String? = nil, identity: String? = nil, passphraseSecret: String? = nil, agent: Bool = false,
        knownHosts: String? = nil, hostKeyChecking: HostEndpoint.HostKeyChecking = .strict, jump: String? = nil,
        connectTimeout: Duration = .seconds(10), location: SourceLocation? = nil
    ) {
        self.user = user
        self.identity = identity
        self.passphraseSecret = passphraseSecret
        self.agent = agent
        self.knownHosts = knownHosts
        self.hostKeyChecking = hostKeyChecking
        self.jump = jump
        self.connectTimeout = connectTimeout
        self.location = location
    }
}

public struct HostSpec: Sendable, Hashable {
    public var name: String
    public var address: String
    public var port: Int
    public var user: String?
    public var roles: [String]
    public var vars: [ConfigEntry]
    public var transport: Transport?
    public var location: SourceLocation

    public init(
        name: String, address: String, port: Int = 22, user: String? = nil, roles: [String] = [],
        vars: [ConfigEntry] = [], transport: Transport? = nil, location: SourceLocation
    ) {
        self.name = name
        self.address = address
        self.port = port
        self.user = user
        self.roles = roles
        self.vars = vars
        self.transport = transport
        self.location = location
    }
}

/// Where a secret's value comes from; the value itself is read only when a run needs it.
public struct SecretSource: Sendable, Hashable {
    public enum Origin: Sendable, Hashable {
        case environmentVariable(String)
        case file(String)
    }

    public var name: String
    public var origin: Origin
    public var location: SourceLocation

    public init(name: String, origin: Origin, location: SourceLocation) {
        self.name = name
        self.origin = origin
        self.location = location
    }
}
