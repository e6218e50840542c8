import Foundation
import MarshalCore
import MarshalTestSupport

/// A lab of sshd hosts started through `scripts/lab` for the tests, stopped when the test process
/// exits (and by the lab's own TTL watchdog should the process crash).
final class Lab: Sendable {
    let directory: String
    let basePort: Int
    let hostCount: Int

    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        return FileManager.default.currentDirectoryPath
    }()

    /// The suites' shared lab: four hosts, started on first use, stopped at process exit.
    static func shared() async throws -> Lab { try await sharedStart.value }

    private static let sharedStart = Task<Lab, Error> {
        let lab = try await Lab.start(hosts: 4)
        Lab.registerForExit(lab)
        return lab
    }

    private static let exitList = Mutex()

    private init(directory: String, basePort: Int, hostCount: Int) {
        self.directory = directory
        self.basePort = basePort
        self.hostCount = hostCount
    }

    /// Starts a lab on a random free port range; retries a few ranges if one collides.
    static func start(hosts: Int, ttl: Int = 900) async throws -> Lab {
        var lastError = "no attempt"
        for _ in 0..<5 {
            let base = LabPorts.randomBase(hosts: hosts)
            let directory = NSTemporaryDirectory() + "marshal-lab-" + UUID().uuidString.prefix(8)
            let (status, output) = await runProcess(
                [repositoryRoot + "/scripts/lab", "start", "--dir", directory, "--hosts", String(hosts),
                 "--base-port", String(base), "--ttl", String(ttl)])
            if status == 0 { return Lab(directory: directory, basePort: base, hostCount: hosts) }
            lastError = output
            try? FileManager.default.removeItem(atPath: directory)
        }
        throw LabError(message: "scripts/lab start failed: \(lastError)")
    }

    func stop() {
        _ = Lab.runBlocking([Lab.repositoryRoot + "/scripts/lab", "stop", "--dir", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func registerForExit(_ lab: Lab) {
        exitList.withLock { $0.append(lab) }
        atexit {
            Lab.exitList.withLock { labs in
                labs.forEach { $0.stop() }
                labs.removeAll()
            }
        }
    }

    var identity: String { directory + "/client_ed25519" }
    var knownHosts: String { directory + "/known_hosts" }
    func port(_ index: Int) -> Int { basePort + index - 1 }
    func hostDirectory(_ index: Int) -> String { directory + "/hosts/web\(index)" }

    func endpoint(_ index: Int, knownHosts: String? = nil, checking: HostEndpoint.HostKeyChecking = .strict,
                  identity: String? = nil, connectTimeout: Duration = .seconds(5),
                  jump: HostEndpoint.Jump = .none) -> HostEndpoint {
        HostEndpoint(
            name: "web\(index)", address: "127.0.0.1", port: port(index), user: "root",
            authentication: .identityFile(path: identity ?? self.identity, passphrase: nil),
            knownHostsPath: knownHosts ?? self.knownHosts, hostKeyChecking: checking,
            connectTimeout: connectTimeout, jump: jump)
    }

    /// Runs a short tool to the end from an async test, polling so no thread of the cooperative pool
    /// is held while it runs; the output is its stdout followed by its stderr.
    @discardableResult
    static func runProcess(_ arguments: [String], environment: [String: String]? = nil,
                           timeout: Double = 60) async -> (Int32, String) {
        let base = NSTemporaryDirectory() + "marshal-ssh-run-" + UUID().uuidString
        defer {
            unlink(base + ".out")
            unlink(base + ".err")
        }
        let child: ChildProcess
        do {
            child = try ChildProcess(arguments, environment: environment, stdout: base + ".out", stderr: base + ".err")
        } catch {
            return (-1, "\(error)")
        }
        let status = await child.exit(within: timeout)
        if status == nil { child.stop() }
        let output = ((try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? "")
            + ((try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? "")
        return (status ?? -1, status == nil ? "timed out after \(timeout)s: \(output)" : output)
    }

    /// For stopping a lab, from a `defer` or at exit, where nothing can be awaited.
    static func runBlocking(_ arguments: [String]) -> (Int32, String) {
        do {
            let result = try Spawn.run(arguments, timeout: 120)
            return (result.status, result.stdout + result.stderr)
        } catch {
            return (-1, "\(error)")
        }
    }

    /// A scratch directory for one test, removed when the test process exits.
    static func scratch() -> String {
        let path = NSTemporaryDirectory() + "marshal-ssh-test-" + UUID().uuidString.prefix(8)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        _ = scratchCleanup
        scratchList.withLock { $0.append(path) }
        return path
    }

    private static let scratchList = PathList()
    private static let scratchCleanup: Void = {
        atexit {
            Lab.scratchList.withLock { paths in
                paths.forEach { try? FileManager.default.removeItem(atPath: $0) }
                paths.removeAll()
            }
        }
    }()
}

struct LabError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Small lock for the exit list (tests only).
final class Mutex: @unchecked Sendable {
    private let lock = NSLock()
    private var labs: [Lab] = []
    func withLock<T>(_ body: (inout [Lab]) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&labs)
    }
}

final class PathList: @unchecked Sendable {
    private let lock = NSLock()
    private var paths: [String] = []
    func withLock<T>(_ body: (inout [String]) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&paths)
    }
}


/// coreutils' digest of a file, as lowercase hex: the reference the transports' own SHA-256 is
/// checked against, computed in a child process rather than on a thread of the cooperative pool.
/// A file's bytes, to compare a command's output with what it sent.
func fileBytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

func sha256sum(_ path: String) async throws -> String {
    let (status, output) = await Lab.runProcess(["/usr/bin/sha256sum", path])
    guard status == 0, let digest = output.split(separator: " ").first else {
        throw LabError(message: "sha256sum \(path) failed: \(output)")
    }
    return String(digest)
}
