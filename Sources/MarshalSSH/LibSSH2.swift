internal import CLibSSH2
import Foundation
import MarshalCore

/// libssh2 must be initialised once per process before any thread uses it (libssh2_init(3)).
/// A global `let` is initialised exactly once, thread-safely; `SSHConnector.init` touches it.
let libssh2Initialisation: Int32 = libssh2_init(0)

/// A failed libssh2 call: its error code (what we branch on) and the library's text (what we show).
struct LibSSH2Failure: Error {
    enum Kind {
        case code(Int32)
        /// Our own deadline passed while libssh2 was waiting for the socket.
        case deadline
    }
    var kind: Kind
    var message: String

    var code: Int32? { if case .code(let c) = kind { c } else { nil } }
    var isDeadline: Bool { if case .deadline = kind { true } else { false } }

    /// The transport itself is gone: every later call on this session would fail too.
    var isConnectionLoss: Bool {
        switch code {
        case LIBSSH2_ERROR_SOCKET_DISCONNECT, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_SEND,
             LIBSSH2_ERROR_SOCKET_TIMEOUT, LIBSSH2_ERROR_BAD_SOCKET, LIBSSH2_ERROR_DECRYPT,
             LIBSSH2_ERROR_INVALID_MAC, LIBSSH2_ERROR_PROTO:
            true
        default:
            false
        }
    }
}

/// Waits on a non-blocking libssh2 session: poll() on the directions it says it is blocked in,
/// with our own deadline (libssh2's session timeout covers blocking calls only).
struct SessionWaiter {
    let session: OpaquePointer
    let socket: Int32
    let keepalive = Keepalive()

    /// Longest single poll; a safety net so a missed wake-up costs a slice, not a hang.
    static let slice: Duration = .milliseconds(500)

    func wait(until deadline: ContinuousClock.Instant?) throws(LibSSH2Failure) {
        let now = ContinuousClock.now
        var timeout = SessionWaiter.slice
        if let deadline {
            if now >= deadline { throw LibSSH2Failure(kind: .deadline, message: "deadline passed") }
            timeout = min(timeout, deadline - now)
        }
        if keepalive.interval > .zero {
            // libssh2 sends a keepalive (want_reply) when one is due and says when the next is;
            // it does not notice unanswered ones, so we do: no byte from the peer for `count`
            // intervals means the host is not answering (a stopped sshd keeps TCP up for ever).
            var next: Int32 = 0
            _ = libssh2_keepalive_send(session, &next)
            timeout = min(timeout, .seconds(Int64(max(1, next))))
            let silence = now - keepalive.lastInbound
            if silence > keepalive.interval * keepalive.count {
                throw LibSSH2Failure(kind: .code(LIBSSH2_ERROR_SOCKET_TIMEOUT),
                                     message: "host not answering (no reply to \(keepalive.count) keepalives in \(Int(silence.secondsDouble)) s); a command it was running may still be running")
            }
        }
        let directions = libssh2_session_block_directions(session)
        var events: Int16 = 0
        if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int16(POLLIN) }
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int16(POLLOUT) }
        if events == 0 { events = Int16(POLLIN) }
        var fd = pollfd(fd: socket, events: events, revents: 0)
        _ = poll(&fd, 1, Int32(max(1, timeout.milliseconds)))
        if fd.revents & Int16(POLLIN) != 0 { keepalive.lastInbound = .now }
    }

    func lastFailure() -> LibSSH2Failure {
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(session, &message, &length, 0)
        let text = message.map { String(cString: $0) } ?? "libssh2 error \(code)"
        return LibSSH2Failure(kind: .code(code), message: text.isEmpty ? "libssh2 error \(code)" : text)
    }

    /// Repeats a call that returns an `int` status until it stops saying EAGAIN.
    @discardableResult
    func call(until deadline: ContinuousClock.Instant?, _ body: () -> Int32) throws(LibSSH2Failure) -> Int32 {
        while true {
            let rc = body()
            if rc == LIBSSH2_ERROR_EAGAIN { try wait(until: deadline); continue }
            if rc < 0 { throw lastFailure() }
            return rc
        }
    }

    /// Repeats a call that returns a handle until it is non-NULL or fails with something but EAGAIN.
    func open<Handle>(until deadline: ContinuousClock.Instant?, _ body: () -> Handle?) throws(LibSSH2Failure) -> Handle {
        while true {
            if let handle = body() { return handle }
            if libssh2_session_last_errno(session) != LIBSSH2_ERROR_EAGAIN { throw lastFailure() }
            try wait(until: deadline)
        }
    }
}

/// Keepalive settings and the last time the peer sent anything, per session (one thread).
final class Keepalive {
    var interval: Duration = .zero
    var count = 4
    var lastInbound = ContinuousClock.now
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    var secondsDouble: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

func describeErrno(_ code: Int32) -> String { String(cString: strerror(code)) }
