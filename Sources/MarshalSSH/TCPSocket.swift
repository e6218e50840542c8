internal import CLibSSH2
import Foundation
import MarshalCore

/// Opens a TCP connection with a deadline: non-blocking connect(2) plus poll(2), then
/// TCP_NODELAY and TCP_QUICKACK (Nagle on one side and delayed ACK on the other cost ~40 ms on the
/// first channel open). Returns a non-blocking descriptor the caller owns.
func connectTCP(host: String, address: String, port: Int, timeout: Duration) throws(TransportError) -> Int32 {
    let deadline = ContinuousClock.now + timeout
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_protocol = Int32(IPPROTO_TCP)
    var list: UnsafeMutablePointer<addrinfo>?
    let resolved = getaddrinfo(address, String(port), &hints, &list)
    guard resolved == 0, let first = list else {
        throw .unreachable(host: host, address: address, port: port,
                           reason: "cannot resolve address: \(String(cString: gai_strerror(resolved)))")
    }
    defer { freeaddrinfo(list) }

    var lastReason = "no address to connect to"
    var candidate: UnsafeMutablePointer<addrinfo>? = first
    while let info = candidate {
        candidate = info.pointee.ai_next
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        if fd < 0 { lastReason = describeErrno(marshal_errno()); continue }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var rc = connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen)
        if rc != 0 && marshal_errno() == EINPROGRESS {
            while true {
                let left = deadline - ContinuousClock.now
                if left <= .zero {
                    close(fd)
                    throw .connectTimeout(host: host, address: address, port: port, after: timeout)
                }
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&pfd, 1, Int32(max(1, left.milliseconds)))
                if ready > 0 { break }
                if ready < 0 && marshal_errno() != EINTR { break }
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            rc = error == 0 ? 0 : -1
            if error != 0 { lastReason = describeErrno(error) }
        } else if rc != 0 {
            lastReason = describeErrno(marshal_errno())
        }
        if rc == 0 {
            let size = socklen_t(MemoryLayout<Int32>.size)
            var on: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, size)
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_QUICKACK, &on, size)
            // A command without a timeout waits as long as it runs; TCP keepalive (30 s idle, then
            // 3 probes 10 s apart) turns a vanished host into a socket error instead of a hang.
            var idle: Int32 = 30, interval: Int32 = 10, count: Int32 = 3
            _ = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, size)
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, &idle, size)
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, &interval, size)
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, &count, size)
            return fd
        }
        close(fd)
    }
    throw .unreachable(host: host, address: address, port: port, reason: lastReason)
}
