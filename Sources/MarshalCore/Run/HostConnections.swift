import Foundation

/// One connection per host for the whole run, opened on first use and reused by every step.
/// A host that cannot be reached stays failed for the run (it counts as a failed host).
public actor HostConnections {
    private let connector: any Connector
    public nonisolated let environment: Environment
    private let secrets: [String: Secret]
    private let processEnvironment: [String: String]
    private var open: [String: any RemoteExecutor] = [:]
    private var failed: [String: TransportError] = [:]
    private var pending: [String: Task<Result<any RemoteExecutor, TransportError>, Never>] = [:]

    /// - Parameter processEnvironment: Marshal's own environment (`HOME` for `~/` paths, `USER` as the
    ///   default login), as the run request carries it.
    public init(connector: any Connector, environment: Environment, secrets: [String: Secret], processEnvironment: [String: String]) {
        self.processEnvironment = processEnvironment
        self.connector = connector
        self.environment = environment
        self.secrets = secrets
    }

    public func executor(for host: HostSpec) async -> Result<any RemoteExecutor, TransportError> {
        if let executor = open[host.name] { return .success(executor) }
        if let error = failed[host.name] { return .failure(error) }
        if let task = pending[host.name] { return await task.value }
        let endpoint = EndpointBuilder.endpoint(for: host, in: environment, secrets: secrets, processEnvironment: processEnvironment)
        let connector = self.connector
        let task = Task<Result<any RemoteExecutor, TransportError>, Never> {
            do throws(TransportError) {
                return .success(try await connector.connect(endpoint))
            } catch {
                return .failure(error)
            }
        }
        pending[host.name] = task
        let result = await task.value
        pending[host.name] = nil
        switch result {
        case .success(let executor): open[host.name] = executor
        case .failure(let error): failed[host.name] = error
        }
        return result
    }

    /// Closes every connection at once: one after another, 1,000 hosts paid 1,000 round trips.
    public func closeAll() async {
        let executors = Array(open.values)
        open.removeAll()
        await withTaskGroup(of: Void.self) { group in
            for executor in executors { group.addTask { await executor.close() } }
        }
    }
}

/// Builds how to reach a host from the environment's `ssh` settings and the host's own keys.
public enum EndpointBuilder {
    public static func endpoint(for host: HostSpec, in environment: Environment, secrets: [String: Secret],
                                processEnvironment: [String: String]) -> HostEndpoint {
        let ssh = environment.ssh
        let home = processEnvironment["HOME"]
        func expand(_ path: String) -> String {
            guard path.hasPrefix("~/"), let home else { return path }
            return home + path.dropFirst(1)
        }
        let authentication: HostEndpoint.Authentication = ssh.agent && ssh.identity == nil
            ? .agent
            : .identityFile(path: expand(ssh.identity ?? "~/.ssh/id_ed25519"), passphrase: ssh.passphraseSecret.flatMap { secrets[$0] })
        let user = host.user ?? ssh.user ?? processEnvironment["USER"] ?? "root"
        var jump: HostEndpoint.Jump = .none
        if let jumpName = ssh.jump {
            if let jumpHost = environment.host(named: jumpName) {
                var viaEnvironment = environment
                viaEnvironment.ssh.jump = nil
                jump = .via(endpoint(for: jumpHost, in: viaEnvironment, secrets: secrets, processEnvironment: processEnvironment))
            } else {
                // `user@address:port`, as ProxyJump takes it.
                var text = jumpName
                var jumpUser = user
                if let at = text.firstIndex(of: "@") { jumpUser = String(text[..<at]); text = String(text[text.index(after: at)...]) }
                var port = 22
                if let colon = text.lastIndex(of: ":"), let p = Int(text[text.index(after: colon)...]) { port = p; text = String(text[..<colon]) }
                jump = .via(HostEndpoint(name: jumpName, address: text, port: port, user: jumpUser, authentication: authentication,
                                         knownHostsPath: expand(ssh.knownHosts ?? "~/.ssh/known_hosts"),
                                         hostKeyChecking: ssh.hostKeyChecking, connectTimeout: ssh.connectTimeout))
            }
        }
        var endpoint = HostEndpoint(name: host.name, address: host.address, port: host.port, user: user, authentication: authentication,
                                    knownHostsPath: expand(ssh.knownHosts ?? "~/.ssh/known_hosts"), hostKeyChecking: ssh.hostKeyChecking,
                                    connectTimeout: ssh.connectTimeout, jump: jump,
                                    isLocal: (host.transport ?? environment.transport) == .local)
        endpoint.keepaliveInterval = ssh.keepaliveInterval
        endpoint.keepaliveCount = ssh.keepaliveCount
        return endpoint
    }
}
