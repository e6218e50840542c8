import Foundation

/// TCP sockets on 127.0.0.1 for tests that need a port: one the kernel picks, listening or not.
public enum Loopback {
    /// A socket bound to a free loopback port, listening (a backlog of 16) when asked; nil when the
    /// kernel refuses. The caller closes it.
    public static func bound(listening: Bool) -> (fd: Int32, port: Int)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } } == 0
            && (!listening || listen(fd, 16) == 0)
            && withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } } == 0
        guard ok else {
            close(fd)
            return nil
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A port nothing listens on: bound, read, released.
    public static func closedPort() -> Int {
        guard let (fd, port) = bound(listening: false) else { return 1 }
        close(fd)
        return port
    }
}
