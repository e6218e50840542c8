internal import CLibSSH2
import Foundation
import MarshalCore

/// One libssh2 channel; holds its session strongly so the session is freed after it.
final class SSHChannel {
    let handle: OpaquePointer
    let session: SSHSession
    private var closed = false

    /// Opens a "session" channel for one command.
    init(session: SSHSession, until deadline: ContinuousClock.Instant?) throws(LibSSH2Failure) {
        self.session = session
        self.handle = try session.waiter.open(until: deadline) { marshal_channel_open_session(session.handle) }
    }

    /// Adopts an already opened channel (direct-tcpip).
    init(session: SSHSession, handle: OpaquePointer) {
        self.session = session
        self.handle = handle
    }

    deinit {
        // libssh2_channel_free sends a close if none was sent; bounded so a dead peer cannot stall us.
        let deadline = ContinuousClock.now + .seconds(1)
        while libssh2_channel_free(handle) == LIBSSH2_ERROR_EAGAIN {
            if (try? session.waiter.wait(until: deadline)) == nil { break }
        }
    }

    var waiter: SessionWaiter { session.waiter }

    func exec(_ command: String, until deadline: ContinuousClock.Instant?) throws(LibSSH2Failure) {
        let bytes = Array(command.utf8)
        try waiter.call(until: deadline) {
            bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) {
                    marshal_channel_exec(handle, $0.baseAddress, UInt32($0.count))
                }
            }
        }
    }

    /// Writes all of `bytes` to the command's stdin.
    func write(_ bytes: [UInt8], until deadline: ContinuousClock.Instant?) throws(LibSSH2Failure) {
        var offset = 0
        while offset < bytes.count {
            let sent = try bytes.withUnsafeBufferPointer { buffer throws(LibSSH2Failure) in
                try waiter.call(until: deadline) {
                    Int32(truncatingIfNeeded: buffer.withMemoryRebound(to: CChar.self) {
                        marshal_channel_write(handle, $0.baseAddress! + offset, min(32 * 1024, bytes.count - offset))
                    })
                }
            }
            offset += Int(sent)
        }
    }

    /// Without this a command that reads stdin (`cat`) waits forever.
    func sendEOF(until deadline: ContinuousClock.Instant?) throws(LibSSH2Failure) {
        try waiter.call(until: deadline) { libssh2_channel_send_eof(handle) }
    }

    /// Reads stdout and stderr alternately until the channel's EOF, never one stream to the end
    /// first (that deadlocks once the other exceeds the 2 MiB window). Polls only while no EOF was
    /// seen and libssh2 holds no data for either stream: a non-blocking read can consume the EOF,
    /// after which poll() would wait forever. Returns false when `deadline` passed first.
    func drain(stdout: inout [UInt8], stderr: inout [UInt8], until deadline: ContinuousClock.Instant?,
               onStdout: ((inout [UInt8]) -> Void)? = nil) throws(LibSSH2Failure) -> Bool {
        let capacity = 64 * 1024
        var buffer = [CChar](repeating: 0, count: capacity)
        while true {
            var progressed = false
            for stream in [Int32(0), SSH_EXTENDED_DATA_STDERR] {
                while true {
                    let n = buffer.withUnsafeMutableBufferPointer { marshal_channel_read(handle, stream, $0.baseAddress, capacity) }
                    if n > 0 {
                        buffer.withUnsafeBufferPointer { raw in
                            raw.withMemoryRebound(to: UInt8.self) { bytes in
                                if stream == 0 { stdout.append(contentsOf: bytes[0..<n]) } else { stderr.append(contentsOf: bytes[0..<n]) }
                            }
                        }
                        progressed = true
                        if stream == 0 { onStdout?(&stdout) }
                        // Alternate after one buffer so neither stream starves the other's window.
                        break
                    }
                    if n == 0 || n == Int(LIBSSH2_ERROR_EAGAIN) { break }
                    throw waiter.lastFailure()
                }
            }
            if progressed { continue }
            if libssh2_channel_eof(handle) != 0 { return true }
            // > 0 only: it returns an error when the session's packet queue holds a short packet
            // (the server's reply to a keepalive), which `!= 0` took for data, spinning for ever.
            if libssh2_poll_channel_read(handle, 0) > 0 || libssh2_poll_channel_read(handle, SSH_EXTENDED_DATA_STDERR) > 0 {
                if let deadline, ContinuousClock.now >= deadline { return false }
                continue
            }
            do {
                try waiter.wait(until: deadline)
            } catch {
                // Our deadline: report "not finished"; a peer that stopped answering is a failure.
                if error.isDeadline { return false }
                throw error
            }
        }
    }

    /// Close and wait for the peer's close: only then are exit status and signal reliable.
    func closeAndWait(until deadline: ContinuousClock.Instant?) throws(LibSSH2Failure) {
        guard !closed else { return }
        try waiter.call(until: deadline) { libssh2_channel_close(handle) }
        try waiter.call(until: deadline) { libssh2_channel_wait_closed(handle) }
        closed = true
    }

    func ending() -> CommandResult.Ending {
        var signal: UnsafeMutablePointer<CChar>?
        var length = 0
        if libssh2_channel_get_exit_signal(handle, &signal, &length, nil, nil, nil, nil) == 0, let signal {
            defer { libssh2_free(session.handle, signal) }
            let name = String(decoding: UnsafeRawBufferPointer(start: signal, count: length), as: UTF8.self)
            if !name.isEmpty { return .signalled(name) }
        }
        return .exited(libssh2_channel_get_exit_status(handle))
    }
}
