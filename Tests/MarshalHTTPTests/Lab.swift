import Foundation

/// The HTTP lab (nginx + the Python test app) started by `scripts/lab-http` for one test, stopped
/// by PID when the test's suite instance goes away.
final class Lab: @unchecked Sendable {
    let dir: String
    let nginxURL: String
    let appURL: String

    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    init(healthyAfter: Int = 1) throws {
        let output = try Self.script(["start", "--ttl", "120", "--healthy-after", String(healthyAfter)])
        var values: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        guard let dir = values["LAB_DIR"], let nginx = values["NGINX_URL"], let app = values["APP_URL"] else {
            throw LabError(message: "lab-http start printed no URLs: \(output)")
        }
        self.dir = dir
        nginxURL = nginx
        appURL = app
    }

    deinit {
        _ = try? Self.script(["stop", dir])
    }

    struct LabError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    private static func script(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = repoRoot.appendingPathComponent("scripts/lab-http")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw LabError(message: "scripts/lab-http \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// A loopback port nothing listens on (bound, then released).
    static func closedPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
