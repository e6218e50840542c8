import Foundation

/// What one remote or local command produced: both streams as bytes, and how it ended.
public struct CommandResult: Sendable, Hashable {
    public enum Ending: Sendable, Hashable {
        case exited(Int32)
        case signalled(String)
        case timedOut
    }

    public var stdout: [UInt8]
    public var stderr: [UInt8]
    public var ending: Ending
    public var duration: Duration
    /// For a timed-out command: whether its process group was confirmed gone after the stop
    /// (false: the host did not answer, or the group outlived TERM and KILL).
    public var stopConfirmed = false

    public init(stdout: [UInt8], stderr: [UInt8], ending: Ending, duration: Duration) {
        self.stdout = stdout
        self.stderr = stderr
        self.ending = ending
        self.duration = duration
    }

    public var exitStatus: Int32? {
        if case .exited(let code) = ending { code } else { nil }
    }

    public var succeeded: Bool { exitStatus == 0 }

    /// Lossy UTF-8 view for expressions and excerpts; the bytes stay authoritative.
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Result of an upload, with the digest computed on the far side.
public struct UploadResult: Sendable, Hashable {
    public var bytes: Int
    public var sha256: String
    public var duration: Duration

    public init(bytes: Int, sha256: String, duration: Duration) {
        self.bytes = bytes
        self.sha256 = sha256
        self.duration = duration
    }
}
