import Foundation

/// A lab of real OpenSSH servers on 127.0.0.1 started with scripts/lab for one test, stopped
/// (by PID, through the script) when the test ends. The lab's watchdog kills them after a TTL
/// if a test crashes.
final class Lab: @unchecked Sendable {
    let dir: String
    let hosts: Int
    let basePort: Int

    /// Each test gets its own port range so tests can run in parallel.
    private static let nextPort = Counter(start: 26000 + Int(getpid() % 200) * 40)

    init(hosts: Int = 5, roles: String? = nil) throws {
        self.hosts = hosts
        dir = CLI.temporaryDirectory()
        basePort = Self.nextPort.take(hosts + 2)
        var arguments = [CLI.root + "/scripts/lab", "start", "--dir", dir, "--hosts", "\(hosts)", "--base-port", "\(basePort)", "--ttl", "600"]
        if let roles { arguments += ["--roles", roles] }
        let result = try Shell.run(arguments)
        guard result.status == 0 else { throw LabError.startFailed(result.stderr + result.stdout) }
    }

    deinit {
        _ = try? Shell.run([CLI.root + "/scripts/lab", "stop", "--dir", dir])
        try? FileManager.default.removeItem(atPath: dir)
    }

    var environment: String { dir + "/environment.yml" }
    var state: String { dir + "/state" }
    func hostDir(_ name: String) -> String { dir + "/hosts/" + name }

    func file(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    enum LabError: Error { case startFailed(String) }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int
    init(start: Int) { value = start }
    func take(_ n: Int) -> Int {
        lock.lock(); defer { lock.unlock() }
        let v = value
        value += n
        return v
    }
}

enum Shell {
    /// Output goes to files, not pipes: the lab's watchdog outlives `lab start` and would hold a
    /// pipe open, so reading it to the end would wait for the watchdog.
    static func run(_ arguments: [String]) throws -> CLI.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("marshal-shell-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: base + ".out", contents: nil)
        FileManager.default.createFile(atPath: base + ".err", contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        process.standardOutput = FileHandle(forWritingAtPath: base + ".out")
        process.standardError = FileHandle(forWritingAtPath: base + ".err")
        try process.run()
        process.waitUntilExit()
        let out = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        return CLI.Result(status: process.terminationStatus, stdout: out, stderr: err)
    }
}

/// Reads a run back through `marshal show --output json`.
struct ShownRun: Decodable {
    struct Run: Decodable { var id: String; var status: String; var failureSummary: String? }
    struct Step: Decodable {
        var sequence: Int; var name: String; var kind: String; var phase: String; var host: String?; var batch: Int?
        var status: String; var exitStatus: Int32?; var stdout: String; var stderr: String; var message: String?
    }
    var run: Run
    var steps: [Step]

    static func load(_ runId: String, state: String) throws -> ShownRun {
        let result = try CLI.run(["show", runId, "--state", state, "--output", "json"])
        return try JSONDecoder().decode(ShownRun.self, from: Data(result.stdout.utf8))
    }
}
