internal import CLibSSH2
import Foundation
import MarshalCore

/// An SFTP subsystem on a session; holds the session strongly.
final class SFTPSession {
    let handle: OpaquePointer
    let session: SSHSession

    init(session: SSHSession, until deadline: ContinuousClock.Instant?) throws(LibSSH2Failure) {
        self.session = session
        self.handle = try session.waiter.open(until: deadline) { libssh2_sftp_init(session.handle) }
    }

    deinit {
        let deadline = ContinuousClock.now + .seconds(1)
        while libssh2_sftp_shutdown(handle) == LIBSSH2_ERROR_EAGAIN {
            if (try? session.waiter.wait(until: deadline)) == nil { break }
        }
    }

    /// The SFTP status behind a LIBSSH2_ERROR_SFTP_PROTOCOL failure, in words.
    func describe(_ failure: LibSSH2Failure) -> String {
        guard failure.code == LIBSSH2_ERROR_SFTP_PROTOCOL else { return failure.message }
        switch libssh2_sftp_last_error(handle) {
        case UInt(LIBSSH2_FX_NO_SUCH_FILE), UInt(LIBSSH2_FX_NO_SUCH_PATH): return "no such file or directory (does the parent directory exist?)"
        case UInt(LIBSSH2_FX_PERMISSION_DENIED): return "permission denied"
        case UInt(LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM), UInt(LIBSSH2_FX_QUOTA_EXCEEDED): return "no space left on the remote file system"
        case UInt(LIBSSH2_FX_FAILURE): return "the server reported a failure (is the target a directory?)"
        case let code: return "SFTP status \(code)"
        }
    }

    func remove(_ path: String, until deadline: ContinuousClock.Instant?) {
        _ = try? session.waiter.call(until: deadline) {
            marshal_sftp_unlink(handle, path, UInt32(path.utf8.count))
        }
    }

    func chmod(_ path: String, mode: Int32, until deadline: ContinuousClock.Instant?) throws(LibSSH2Failure) {
        try session.waiter.call(until: deadline) {
            marshal_sftp_chmod(handle, path, UInt32(path.utf8.count), UInt(mode))
        }
    }
}

/// An open remote file; holds its SFTP session strongly.
final class SFTPFile {
    let handle: OpaquePointer
    let sftp: SFTPSession
    private var closed = false

    init(sftp: SFTPSession, creatingForWrite path: String, mode: Int32,
         until deadline: ContinuousClock.Instant?) throws(LibSSH2Failure) {
        self.sftp = sftp
        self.handle = try sftp.session.waiter.open(until: deadline) {
            marshal_sftp_open_for_writing(sftp.handle, path, UInt32(path.utf8.count), Int(mode))
        }
    }

    deinit {
        if !closed { _ = try? close(until: .now + .seconds(1)) }
    }

    /// Writes all of `bytes`; libssh2 pipelines the data and reports what the server acknowledged.
    func write(_ bytes: UnsafeRawBufferPointer, until deadline: ContinuousClock.Instant?) throws(LibSSH2Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = libssh2_sftp_write(handle, bytes.baseAddress!.assumingMemoryBound(to: CChar.self) + offset, bytes.count - offset)
            if n > 0 { offset += n; continue }
            if n == Int(LIBSSH2_ERROR_EAGAIN) { try sftp.session.waiter.wait(until: deadline); continue }
            throw sftp.session.waiter.lastFailure()
        }
    }

    func close(until deadline: ContinuousClock.Instant?) throws(LibSSH2Failure) {
        guard !closed else { return }
        closed = true
        try sftp.session.waiter.call(until: deadline) { libssh2_sftp_close_handle(handle) }
    }
}
