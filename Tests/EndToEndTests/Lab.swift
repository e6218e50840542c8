import Foundation
import MarshalTestSupport

/// A lab of real OpenSSH servers on 127.0.0.1 started with scripts/lab for one test, stopped
/// (by PID, through the script) when the test ends. The lab's watchdog kills them after a TTL
/// if a test crashes.
final class Lab: @unchecked Sendable {
    let dir: String
    let hosts: Int
    let basePort: Int

    init(hosts: Int = 5, roles: String? = nil) throws {
        self.hosts = hosts
        dir = CLI.temporaryDirectory()
        // A random port range, tried again elsewhere if another lab (or anything) holds it.
        var lastError = ""
        for _ in 0..<12 {
            let base = Int.random(in: 20000...44000)
            var arguments = [CLI.root + "/scripts/lab", "start", "--dir", dir, "--hosts", "\(hosts)", "--base-port", "\(base)", "--ttl", "600"]
            if let roles { arguments += ["--roles", roles] }
            let result = try Shell.runBlocking(arguments)
            if result.status == 0 {
                basePort = base
                return
            }
            lastError = result.stderr + result.stdout
            guard lastError.contains("already in use") else { break }
        }
        throw LabError.startFailed(lastError)
    }

    deinit {
        _ = try? Shell.runBlocking([CLI.root + "/scripts/lab", "stop", "--dir", dir])
        try? FileManager.default.removeItem(atPath: dir)
    }

    var environment: String { dir + "/environment.yml" }
    var state: String { dir + "/state" }
    func hostDir(_ name: String) -> String { dir + "/hosts/" + name }

    func file(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    enum LabError: Error { case startFailed(String) }
}

enum Shell {
    static func run(_ arguments: [String]) async throws -> CLI.Result {
        let result = try await Spawn.runAsync(arguments)
        return CLI.Result(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    /// For initialisers and deinit, which cannot await; only for short commands.
    static func runBlocking(_ arguments: [String]) throws -> CLI.Result {
        let result = try Spawn.run(arguments)
        return CLI.Result(status: result.status, stdout: result.stdout, stderr: result.stderr)
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

    static func load(_ runId: String, state: String) async throws -> ShownRun {
        let result = try await CLI.run(["show", runId, "--state", state, "--output", "json"])
        return try JSONDecoder().decode(ShownRun.self, from: Data(result.stdout.utf8))
    }
}
