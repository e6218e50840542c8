import Foundation
import MarshalCore

/// `transport: local`: runs steps on this machine through `/bin/sh -c`, without SSH.
public struct LocalConnector: Connector {
    public init() {}

    public func connect(_ endpoint: HostEndpoint) async throws(TransportError) -> any RemoteExecutor {
        LocalExecutor(hostName: endpoint.name)
    }
}

/// Runs commands as child processes of Marshal. Each command leads its own process group so a
/// timeout stops everything it started, and each waits on its own thread, off the cooperative pool.
public struct LocalExecutor: RemoteExecutor {
    public let hostName: String

    public init(hostName: String) { self.hostName = hostName }

    public func run(_ command: ShellCommand, timeout: Duration?) async throws(TransportError) -> CommandResult {
        let text = command.executable
        let input = command.standardInput
        let host = hostName
        return try await onOwnThread(name: "marshal-local-\(host)") { () throws(TransportError) in
            try LocalProcess.run(text, input: input, timeout: timeout, host: host)
        }
    }

    public func upload(localPath: String, remotePath: String, mode: Int32) async throws(TransportError) -> UploadResult {
        let host = hostName
        return try await onOwnThread(name: "marshal-local-upload") { () throws(TransportError) in
            try LocalProcess.copy(from: localPath, to: remotePath, mode: mode, host: host)
        }
    }

    public func close() async {}
}

/// Runs blocking work on a fresh thread and resumes the caller with its result.
func onOwnThread<T: Sendable>(name: String, _ body: @escaping @Sendable () throws(TransportError) -> T)
    async throws(TransportError) -> T
{
    let result: Result<T, TransportError> = await withCheckedContinuation { continuation in
        let thread = Thread {
            do throws(TransportError) {
                continuation.resume(returning: .success(try body()))
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        thread.name = name
        thread.start()
    }
    return try result.get()
}
