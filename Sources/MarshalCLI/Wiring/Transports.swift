import MarshalCore
import MarshalSSH

/// Sends each host to its transport: SSH (libssh2), or this machine for `transport: local`.
struct TransportRouter: Connector {
    let ssh = SSHConnector()
    let local = LocalConnector()

    func connect(_ endpoint: HostEndpoint) async throws(TransportError) -> any RemoteExecutor {
        endpoint.isLocal ? try await local.connect(endpoint) : try await ssh.connect(endpoint)
    }
}
