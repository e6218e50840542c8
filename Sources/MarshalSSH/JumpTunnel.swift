internal import CLibSSH2
import Foundation
import MarshalCore

/// ProxyJump: a direct-tcpip channel on the jump host's session, joined to a socketpair whose
/// other end carries the target's SSH session. A pump thread alone owns the jump session (a
/// libssh2 session must stay on one thread) and lives until either side closes.
enum JumpTunnel {
    /// Returns the local end of the tunnel; the caller owns it.
    static func open(through jump: HostEndpoint, to target: HostEndpoint) throws(TransportError) -> Int32 {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else {
            throw .unreachable(host: target.name, address: target.address, port: target.port,
                               reason: "socketpair for the jump host failed: \(describeErrno(marshal_errno()))")
        }
        for fd in pair {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        let outcome = Outcome()
        let pumpEnd = pair[1]
        let thread = Thread {
            Pump.run(jump: jump, target: target, socket: pumpEnd, outcome: outcome)
        }
        thread.name = "marshal-jump-\(jump.name)-\(target.name)"
        thread.start()
        // The pump thread bounds its own connect and handshake by the jump's connect_timeout.
        let limit = jump.connectTimeout * 2 + target.connectTimeout + .seconds(1)
        switch outcome.wait(limit: limit) {
        case .success:
            return pair[0]
        case .failure(let error):
            close(pair[0])
            throw error
        case nil:
            close(pair[0])
            throw .connectTimeout(host: target.name, address: target.address, port: target.port, after: limit)
        }
    }

    /// Hands the pump thread's first result (tunnel open, or why not) to the caller.
    final class Outcome: @unchecked Sendable {
        private let condition = NSCondition()
        private var result: Result<Void, TransportError>?

        func set(_ value: Result<Void, TransportError>) {
            condition.lock()
            result = value
            condition.broadcast()
            condition.unlock()
        }

        func wait(limit: Duration) -> Result<Void, TransportError>? {
            let until = Date().addingTimeInterval(limit.secondsDouble)
            condition.lock()
            defer { condition.unlock() }
            while result == nil {
                if !condition.wait(until: until) { break }
            }
            return result
        }
    }

    enum Pump {
        static func run(jump: HostEndpoint, target: HostEndpoint, socket: Int32, outcome: Outcome) {
            defer { close(socket) }
            let session: SSHSession
            let channel: SSHChannel
            do throws(TransportError) {
                let connection = try Connection.open(jump)
                session = connection.session
                let deadline = ContinuousClock.now + jump.connectTimeout
                do {
                    let handle = try session.waiter.open(until: deadline) {
                        marshal_channel_direct_tcpip(session.handle, target.address, Int32(target.port))
                    }
                    channel = SSHChannel(session: session, handle: handle)
                } catch {
                    throw TransportError.unreachable(host: target.name, address: target.address, port: target.port,
                                                     reason: "jump host \(jump.name) could not open a tunnel (AllowTcpForwarding?): \(error.message)")
                }
            } catch {
                outcome.set(.failure(error))
                return
            }
            outcome.set(.success(()))
            pump(channel: channel, socket: socket)
        }

        /// Copies bytes both ways until either side ends.
        private static func pump(channel: SSHChannel, socket: Int32) {
            let session = channel.session
            let capacity = 64 * 1024
            var buffer = [UInt8](repeating: 0, count: capacity)
            var up: [UInt8] = []      // from the target's session towards the jump channel
            var upOffset = 0
            var down: [UInt8] = []    // from the jump channel towards the target's session
            var downOffset = 0
            var localClosed = false
            while true {
                var progressed = false
                if upOffset == up.count && !localClosed {
                    let n = buffer.withUnsafeMutableBytes { read(socket, $0.baseAddress, capacity) }
                    if n > 0 { up = Array(buffer[0..<n]); upOffset = 0; progressed = true }
                    else if n == 0 || (marshal_errno() != EAGAIN && marshal_errno() != EINTR) { localClosed = true }
                }
                if upOffset < up.count {
                    let n = up.withUnsafeBytes {
                        marshal_channel_write(channel.handle, $0.baseAddress!.assumingMemoryBound(to: CChar.self) + upOffset, up.count - upOffset)
                    }
                    if n > 0 { upOffset += n; progressed = true } else if n != Int(LIBSSH2_ERROR_EAGAIN) { return }
                }
                if localClosed && upOffset == up.count { return }
                if down.count - downOffset < 4 * capacity {
                    let n = buffer.withUnsafeMutableBytes {
                        marshal_channel_read(channel.handle, 0, $0.baseAddress!.assumingMemoryBound(to: CChar.self), capacity)
                    }
                    if n > 0 {
                        if downOffset == down.count { down.removeAll(keepingCapacity: true); downOffset = 0 }
                        down += buffer[0..<n]
                        progressed = true
                    } else if n != Int(LIBSSH2_ERROR_EAGAIN) {
                        if n < 0 || libssh2_channel_eof(channel.handle) != 0 {
                            if downOffset == down.count { return }
                        }
                    }
                }
                if downOffset < down.count {
                    let n = down.withUnsafeBytes { write(socket, $0.baseAddress! + downOffset, down.count - downOffset) }
                    if n > 0 { downOffset += n; progressed = true }
                    else if n < 0 && marshal_errno() != EAGAIN && marshal_errno() != EINTR { return }
                }
                if progressed || libssh2_poll_channel_read(channel.handle, 0) != 0 { continue }
                var fds = [pollfd(fd: socket, events: 0, revents: 0), pollfd(fd: session.socket, events: Int16(POLLIN), revents: 0)]
                if upOffset == up.count && !localClosed { fds[0].events |= Int16(POLLIN) }
                if downOffset < down.count { fds[0].events |= Int16(POLLOUT) }
                if libssh2_session_block_directions(session.handle) & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 {
                    fds[1].events |= Int16(POLLOUT)
                }
                _ = poll(&fds, 2, 200)
            }
        }
    }
}
