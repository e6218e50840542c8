import Foundation

/// What one attempt of a step sent to its host, in order, as the journal's `command`: each
/// command's masked display (`ShellCommand.display`), and each file copy as `UploadText`.
/// The planner builds the same strings from the same builders, so a plan and a run compare.
final class SentCommands: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) {
        lock.lock()
        lines.append(line)
        lock.unlock()
    }

    /// One line per command sent (a command may span lines itself); nil when nothing was sent.
    var text: String? {
        lock.lock()
        defer { lock.unlock() }
        return lines.isEmpty ? nil : lines.joined(separator: "\n")
    }
}

/// How a file copy appears among a step's commands, in the plan and the journal alike.
public enum UploadText {
    public static func describe(local: String, remote: String, mode: Int32) -> String {
        "upload \(local) → \(remote) (mode \(String(mode, radix: 8)))"
    }
}

/// A host's executor that notes every command and copy a step sends through it.
struct RecordingExecutor: RemoteExecutor {
    let inner: any RemoteExecutor
    let sent: SentCommands
    let masker: SecretMasker

    var hostName: String { inner.hostName }

    func run(_ command: ShellCommand, timeout: Duration?) async throws(TransportError) -> CommandResult {
        sent.append(masker.mask(command.display))
        return try await inner.run(command, timeout: timeout)
    }

    func upload(localPath: String, remotePath: String, mode: Int32) async throws(TransportError) -> UploadResult {
        sent.append(masker.mask(UploadText.describe(local: localPath, remote: remotePath, mode: mode)))
        return try await inner.upload(localPath: localPath, remotePath: remotePath, mode: mode)
    }

    // The connection belongs to the run, not to one step.
    func close() async {}
}
