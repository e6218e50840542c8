import Foundation
import MarshalCore

/// Opens SSH connections with libssh2: one authenticated session per host, on its own thread,
/// reused for every command (a channel per command).
public struct SSHConnector: Connector {
    public init() {
        // libssh2_init must run before any thread uses libssh2; the CLI builds the connector early.
        _ = libssh2Initialisation
    }

    /// Waits (at most `timeout`) for SSH sessions being closed in the background to finish, so the
    /// process does not exit under them (libcrypto's atexit cleanup would pull locks out from under
    /// a disconnect). Call right before the process exits.
    @discardableResult
    public static func finishClosing(timeout: Duration = .seconds(3)) -> Bool {
        ConnectionWorker.waitForTeardowns(timeout: timeout)
    }

    public func connect(_ endpoint: HostEndpoint) async throws(TransportError) -> any RemoteExecutor {
        await ConnectGate.shared.enter()
        defer { ConnectGate.shared.leave() }
        let worker = ConnectionWorker(name: endpoint.name)
        do {
            try await worker.perform(host: endpoint.name) { worker throws(TransportError) in
                worker.connection = try Connection.open(endpoint)
            }
        } catch {
            worker.stop()
            throw error
        }
        return SSHExecutor(hostName: endpoint.name, worker: worker)
    }
}

/// A live SSH connection to one host.
public final class SSHExecutor: RemoteExecutor {
    public let hostName: String
    private let worker: ConnectionWorker

    init(hostName: String, worker: ConnectionWorker) {
        self.hostName = hostName
        self.worker = worker
    }

    deinit { worker.stop() }

    public func run(_ command: ShellCommand, timeout: Duration?) async throws(TransportError) -> CommandResult {
        let text = command.executable
        let input = command.standardInput
        let host = hostName
        return try await worker.perform(host: host) { worker throws(TransportError) in
            guard let connection = worker.connection else { throw .disconnected(host: host, reason: "the connection was closed") }
            return try connection.run(text, input: input, timeout: timeout)
        }
    }

    public func upload(localPath: String, remotePath: String, mode: Int32) async throws(TransportError) -> UploadResult {
        let host = hostName
        return try await worker.perform(host: host) { worker throws(TransportError) in
            guard let connection = worker.connection else { throw .disconnected(host: host, reason: "the connection was closed") }
            return try connection.upload(localPath: localPath, remotePath: remotePath, mode: mode)
        }
    }

    public func close() async {
        _ = try? await worker.perform(host: hostName) { worker throws(TransportError) in
            worker.connection = nil
        }
        worker.stop()
    }
}
