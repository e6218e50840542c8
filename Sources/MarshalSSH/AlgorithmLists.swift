internal import CLibSSH2
import Foundation
import MarshalCore

/// Explains a failed key exchange by naming both sides' algorithm lists. libssh2 does not expose
/// the server's KEXINIT, so a second short connection reads it (RFC 4253 §7.1: it is sent in
/// clear, right after the version banners).
enum AlgorithmLists {
    /// The categories that can fail to agree, with their libssh2 method and KEXINIT list index.
    static let categories: [(name: String, method: Int32, index: Int)] = [
        ("key exchange", LIBSSH2_METHOD_KEX, 0),
        ("host key", LIBSSH2_METHOD_HOSTKEY, 1),
        ("cipher", LIBSSH2_METHOD_CRYPT_CS, 2),
        ("MAC", LIBSSH2_METHOD_MAC_CS, 4),
    ]

    static func ours(_ session: SSHSession) -> [String: [String]] {
        var lists: [String: [String]] = [:]
        for category in categories { lists[category.name] = session.supportedAlgorithms(category.method) }
        return lists
    }

    static func explainMismatch(ours: [String: [String]], theirs: [String: [String]]?) -> String? {
        guard let theirs else {
            let mine = categories.map { "\($0.name): \(ours[$0.name, default: []].joined(separator: ","))" }
            return "libssh2 1.10 offers \(mine.joined(separator: "; ")); the server's lists could not be read"
        }
        let disjoint = categories.filter { category in
            Set(ours[category.name, default: []]).isDisjoint(with: theirs[category.name, default: []])
        }
        guard !disjoint.isEmpty else { return nil }
        return disjoint.map { category in
            "\(category.name): libssh2 1.10 offers [\(ours[category.name, default: []].joined(separator: ","))], "
                + "the server accepts [\(theirs[category.name, default: []].joined(separator: ","))]"
        }.joined(separator: "; ") + " (libssh2 1.10 has no chacha20-poly1305, AES-GCM, encrypt-then-MAC or sntrup)"
    }

    /// The server's KEXINIT lists, or nil when they cannot be read in time.
    static func probeServer(address: String, port: Int, timeout: Duration) -> [String: [String]]? {
        guard let fd = try? connectTCP(host: address, address: address, port: port, timeout: timeout) else { return nil }
        defer { close(fd) }
        let deadline = ContinuousClock.now + timeout
        let banner = Array("SSH-2.0-MarshalProbe\r\n".utf8)
        guard banner.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == banner.count else { return nil }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while ContinuousClock.now < deadline, received.count < 256 * 1024 {
            if let lists = parse(received) { return lists }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&pfd, 1, Int32(max(1, (deadline - .now).milliseconds)))
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return parse(received) }
            if n > 0 { received += buffer[0..<n] }
        }
        return nil
    }

    private static func parse(_ bytes: [UInt8]) -> [String: [String]]? {
        // Skip lines up to and including the "SSH-" version line.
        var index = 0
        while true {
            guard let newline = bytes[index...].firstIndex(of: 0x0A) else { return nil }
            let isVersion = bytes[index...].starts(with: Array("SSH-".utf8))
            index = newline + 1
            if isVersion { break }
        }
        var reader = SSHWireReader(Array(bytes[index...]))
        guard let packetLength = reader.uint32(), bytes.count - index >= Int(packetLength) + 4,
              reader.skip(1 + 1 + 16) else { return nil }  // padding length, SSH_MSG_KEXINIT, cookie
        var lists: [[String]] = []
        for _ in 0..<6 {
            guard let list = reader.string() else { return nil }
            lists.append(String(decoding: list, as: UTF8.self).split(separator: ",").map(String.init))
        }
        var named: [String: [String]] = [:]
        for category in categories { named[category.name] = lists[category.index] }
        return named
    }
}
