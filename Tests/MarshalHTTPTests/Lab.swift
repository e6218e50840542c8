import Foundation
import MarshalTestSupport
import Testing

/// Lab-backed suites run one at a time: two cores, and pacing measurements must not compete.
@Suite("HTTP lab", .serialized)
enum HTTPLab {}

/// The HTTP lab (nginx + the Python test app) started by `scripts/lab-http` for one test, stopped
/// by PID when the test's suite instance goes away.
final class Lab: @unchecked Sendable {
    let dir: String
    let nginxURL: String
    let appURL: String
    /// nginx's static files over TLS with a self-signed certificate.
    let tlsURL: String

    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    init(healthyAfter: Int = 1) throws {
        let output = try Self.script(["start", "--ttl", "120", "--healthy-after", String(healthyAfter)])
        var values: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        guard let dir = values["LAB_DIR"], let nginx = values["NGINX_URL"], let app = values["APP_URL"], let tls = values["TLS_URL"] else {
            throw LabError(message: "lab-http start printed no URLs: \(output)")
        }
        self.dir = dir
        nginxURL = nginx
        appURL = app
        tlsURL = tls
    }

    deinit {
        _ = try? Self.script(["stop", dir])
    }

    struct LabError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// Runs the lab script and returns its standard output. posix_spawn with a close-on-exec pipe (the suites run one at a time),
    /// so servers started by one call never hold another call's pipe open.
    private static func script(_ arguments: [String]) throws -> String {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw LabError(message: "pipe failed: errno \(errno)") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        let path = repoRoot.appendingPathComponent("scripts/lab-http").path
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // The test runner blocks some signals and children inherit the mask: without clearing it
        // the servers would ignore SIGTERM from `stop`.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        posix_spawnattr_destroy(&attributes)
        posix_spawn_file_actions_destroy(&actions)
        close(fds[1])
        defer { close(fds[0]) }
        guard spawned == 0 else { throw LabError(message: "cannot run \(path): errno \(spawned)") }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n > 0 { output.append(contentsOf: buffer[0..<n]) } else if n == 0 || errno != EINTR { break }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exitCode = (status >> 8) & 0xff
        guard status & 0x7f == 0 && exitCode == 0 else {
            throw LabError(message: "scripts/lab-http \(arguments.joined(separator: " ")) failed (status \(status))")
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// A loopback port nothing listens on (bound, then released).
    static func closedPort() -> Int { Loopback.closedPort() }
}
