import Foundation
import MarshalCore
#if canImport(Glibc)
import Glibc
#endif

/// A small Redis client over TCP: one connection per check, AUTH and SELECT first, the commands
/// pipelined. Blocking socket calls run on a queue of their own, never on Swift's cooperative pool;
/// every wait is bounded by the check's timeout (poll). No Redis client is in the package mirror.
public struct RESPClient: RedisClient {
    public init() {}

    public func execute(_ commands: [[String]], at endpoint: RedisEndpoint, timeout: Duration) async throws(RedisError) -> [RedisReply] {
        let result: Result<[RedisReply], RedisError> = await withCheckedContinuation { continuation in
            DispatchQueue(label: "marshal.redis").async {
                continuation.resume(returning: Result { () throws(RedisError) -> [RedisReply] in
                    try Connection.run(commands, at: endpoint, timeout: timeout)
                })
            }
        }
        return try result.get()
    }

    /// One socket, owned and closed here.
    final class Connection {
        let fd: Int32
        let endpoint: RedisEndpoint
        let deadline: ContinuousClock.Instant
        let timeout: Duration

        init(endpoint: RedisEndpoint, timeout: Duration) throws(RedisError) {
            self.endpoint = endpoint
            self.timeout = timeout
            deadline = ContinuousClock.now + timeout
            fd = try Self.connect(endpoint, deadline: deadline, timeout: timeout)
        }

        deinit { close(fd) }

        static func run(_ commands: [[String]], at endpoint: RedisEndpoint, timeout: Duration) throws(RedisError) -> [RedisReply] {
            let connection = try Connection(endpoint: endpoint, timeout: timeout)
            var preamble: [[String]] = []
            if let password = endpoint.password {
                preamble.append(endpoint.username.map { ["AUTH", $0, password.reveal()] } ?? ["AUTH", password.reveal()])
            }
            if endpoint.database != 0 { preamble.append(["SELECT", String(endpoint.database)]) }
            var bytes: [UInt8] = []
            for command in preamble + commands { bytes += RESPParser.encode(command) }
            try connection.write(bytes)
            var parser = RESPParser()
            var replies: [RedisReply] = []
            let wanted = preamble.count + commands.count
            while replies.count < wanted {
                do {
                    while replies.count < wanted, let reply = try parser.next() { replies.append(reply) }
                } catch {
                    if case .malformed(let reason) = error { throw .protocolError(endpoint: endpoint.display, reason: reason) }
                }
                if replies.count < wanted { parser.append(try connection.read()) }
            }
            for (index, reply) in replies.prefix(preamble.count).enumerated() {
                guard case .error(let message) = reply else { continue }
                if preamble[index][0] == "AUTH" { throw .auth(endpoint: endpoint.display, reply: message) }
                throw .command(endpoint: endpoint.display, command: preamble[index].joined(separator: " "), reply: message)
            }
            return Array(replies.dropFirst(preamble.count))
        }

        private static func connect(_ endpoint: RedisEndpoint, deadline: ContinuousClock.Instant, timeout: Duration) throws(RedisError) -> Int32 {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            hints.ai_family = AF_UNSPEC
            var list: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
            guard status == 0, let first = list else {
                throw .connect(endpoint: endpoint.display, reason: "cannot resolve \(endpoint.host): \(String(cString: gai_strerror(status)))")
            }
            defer { freeaddrinfo(list) }
            var lastError = "no address"
            var cursor: UnsafeMutablePointer<addrinfo>? = first
            while let info = cursor {
                cursor = info.pointee.ai_next
                let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), info.pointee.ai_protocol)
                guard fd >= 0 else { lastError = String(cString: strerror(errno)); continue }
                if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0, errno != EINPROGRESS {
                    lastError = String(cString: strerror(errno))
                    close(fd)
                    continue
                }
                guard wait(fd, for: Int16(POLLOUT), until: deadline) else {
                    close(fd)
                    throw .timeout(endpoint: endpoint.display, after: timeout)
                }
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                if error != 0 {
                    lastError = String(cString: strerror(error))
                    close(fd)
                    continue
                }
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            throw .connect(endpoint: endpoint.display, reason: lastError)
        }

        /// Waits for `events` until the deadline; false on timeout.
        private static func wait(_ fd: Int32, for events: Int16, until deadline: ContinuousClock.Instant) -> Bool {
            while true {
                let left = deadline - ContinuousClock.now
                if left <= .zero { return false }
                var entry = pollfd(fd: fd, events: events, revents: 0)
                let ms = Int32(min(Double(Int32.max), max(1, left.seconds * 1000)))
                let ready = poll(&entry, 1, ms)
                if ready > 0 { return true }
                if ready < 0, errno == EINTR { continue }
                if ready == 0 { return false }
                return true  // an error: the following read/write reports it
            }
        }

        func write(_ bytes: [UInt8]) throws(RedisError) {
            var offset = 0
            while offset < bytes.count {
                guard Self.wait(fd, for: Int16(POLLOUT), until: deadline) else { throw .timeout(endpoint: endpoint.display, after: timeout) }
                let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n < 0 {
                    if errno == EAGAIN || errno == EINTR { continue }
                    throw .connect(endpoint: endpoint.display, reason: String(cString: strerror(errno)))
                }
                offset += n
            }
        }

        func read() throws(RedisError) -> [UInt8] {
            var chunk = [UInt8](repeating: 0, count: 16 * 1024)
            while true {
                guard Self.wait(fd, for: Int16(POLLIN), until: deadline) else { throw .timeout(endpoint: endpoint.display, after: timeout) }
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 { return Array(chunk[0..<n]) }
                if n == 0 { throw .closed(endpoint: endpoint.display) }
                if errno == EAGAIN || errno == EINTR { continue }
                throw .connect(endpoint: endpoint.display, reason: String(cString: strerror(errno)))
            }
        }
    }
}
