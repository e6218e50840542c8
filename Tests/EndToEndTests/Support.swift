import Foundation
import MarshalTestSupport

/// Runs the built `marshal` binary as a user would, capturing both streams and the exit code.
enum CLI {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The binary next to the test bundle (same build folder and configuration as the tests).
    static let binary: String = {
        if let override = ProcessInfo.processInfo.environment["MARSHAL_BIN"] { return override }
        let bundle = Bundle.main.bundleURL
        for dir in [bundle, bundle.deletingLastPathComponent(), bundle.deletingLastPathComponent().deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("marshal").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return root + "/.build/debug/marshal"
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    @discardableResult
    static func run(_ arguments: [String], environment: [String: String] = [:], cwd: String = root, timeout: TimeInterval = 120) async throws -> Result {
        var env = environment
        env["NO_COLOR"] = "1"
        let result = try await Spawn.runAsync([binary] + arguments, environment: env, cwd: cwd, timeout: timeout)
        return Result(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    /// Starts `marshal` in the background; the caller waits for or kills the returned PID.
    static func start(_ arguments: [String]) throws -> pid_t {
        try Spawn.start([binary] + arguments, environment: ["NO_COLOR": "1"], cwd: root)
    }

    static func temporaryDirectory() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("marshal-e2e-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func write(_ text: String, to path: String) {
        TestFile.write(text, to: path)
    }

    /// Runs `body` in a fresh folder holding `env.yml` (as `localEnvironment`, named `lab`) and an
    /// empty `Runbooks/`; removes the folder afterwards.
    static func inLocalProject(_ body: (_ dir: String, _ env: String) async throws -> Void) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/Runbooks", withIntermediateDirectories: true)
        try await body(dir, localEnvironment(dir, name: "lab"))
    }

    /// `dir/env.yml`: one host, `here`, on this machine (`transport: local`), with `vars.dir`.
    static func localEnvironment(_ dir: String, name: String) -> String {
        write("""
        version: 1
        environment: \(name)
        transport: local
        hosts:
          here: { address: 127.0.0.1, vars: { dir: \(dir) } }
        """, to: dir + "/env.yml")
        return dir + "/env.yml"
    }
}

/// A test app from scripts/testing on 127.0.0.1: it prints the port it listens on, lives at most
/// `ttl` seconds, and is stopped by PID when the test lets go of it.
class ScriptedApp: @unchecked Sendable {
    let pid: pid_t
    let port: Int
    let output: String

    /// Async: waiting for Python to start and print its port sleeps the task, not a thread of the
    /// cooperative pool (a blocked pool thread delays every other test's timers).
    init(script: String, ttl: Int, _ arguments: [String]) async throws {
        output = NSTemporaryDirectory() + "\(script)-\(UUID().uuidString).out"
        pid = try Spawn.start(["/usr/bin/python3", CLI.root + "/scripts/testing/" + script, "--ttl", String(ttl)] + arguments, stdout: output)
        var port = 0
        let output = output
        _ = try? await eventually(within: 30, every: .milliseconds(20)) {
            if let text = try? String(contentsOfFile: output, encoding: .utf8), text.hasSuffix("\n") { port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 }
            return port != 0
        }
        self.port = port
    }

    deinit {
        kill(pid, SIGKILL)
        _ = Spawn.wait(pid, timeout: 5)
        unlink(output)
    }

    var url: String { "http://127.0.0.1:\(port)" }
}
