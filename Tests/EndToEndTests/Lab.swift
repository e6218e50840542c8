import Foundation
import MarshalTestSupport

/// A lab of real OpenSSH servers on 127.0.0.1 started with scripts/lab for one test, stopped
/// (by PID, through the script) when the test ends. The lab's watchdog kills them after a TTL
/// if a test crashes.
final class Lab: @unchecked Sendable {
    let dir: String
    let hosts: Int
    let basePort: Int

    /// Async so that the seconds `scripts/lab start` takes hold no thread of the cooperative pool.
    init(hosts: Int = 5, roles: String? = nil) async throws {
        self.hosts = hosts
        dir = CLI.temporaryDirectory()
        // A random port range, tried again elsewhere if another lab (or anything) holds it.
        var lastError = ""
        for _ in 0..<12 {
            let base = LabPorts.randomBase(hosts: hosts)
            var arguments = [CLI.root + "/scripts/lab", "start", "--dir", dir, "--hosts", "\(hosts)", "--base-port", "\(base)", "--ttl", "600"]
            if let roles { arguments += ["--roles", roles] }
            let result = try await Self.starts.run { [arguments] in try await Shell.run(arguments) }
            if result.status == 0 {
                basePort = base
                return
            }
            lastError = result.stderr + result.stdout
            // Another lab starting at the same moment can bind a port this one found free.
            guard lastError.contains("already in use") || lastError.contains("did not accept SSH connections") else { break }
        }
        throw LabError.startFailed(lastError)
    }

    /// Lab starts (this one's and RedisLab's), two at a time.
    static let starts = AsyncLimiter(2)

    deinit {
        let dir = dir
        Cleanup.inBackground {
            _ = try? Shell.runBlocking([CLI.root + "/scripts/lab", "stop", "--dir", dir])
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    var environment: String { dir + "/environment.yml" }
    var state: String { dir + "/state" }
    func hostDir(_ name: String) -> String { dir + "/hosts/" + name }

    func file(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    /// The lab's environment with the secret `db`: the cluster's URL, read from a 0600 file.
    func environment(withDatabase pg: TestPostgres) -> String {
        let secret = dir + "/db-url"
        CLI.write(pg.url, to: secret)
        chmod(secret, 0o600)
        let environment = dir + "/env-db.yml"
        CLI.write((file(self.environment) ?? "") + "secrets:\n  db: { file: \(secret) }\n", to: environment)
        return environment
    }

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

extension Lab {
    /// The sshd processes serving `host`: its listener (from DIR/pids) and every sshd below it
    /// (the per-connection ones), found through /proc by parent PID; never the commands they run.
    func sshdProcesses(of host: String) -> [pid_t] {
        guard let pids = file(dir + "/pids"),
              let line = pids.split(separator: "\n").first(where: { $0.hasSuffix(" " + host) }),
              let listener = pid_t(line.split(separator: " ")[0]) else { return [] }
        var parents: [pid_t: pid_t] = [:]
        var names: [pid_t: String] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), let stat = file("/proc/\(entry)/stat"),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            if fields.count > 1, let ppid = pid_t(fields[1]) { parents[pid] = ppid }
            names[pid] = file("/proc/\(entry)/comm")?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var found: [pid_t] = [listener]
        var grew = true
        while grew {
            grew = false
            for (pid, ppid) in parents where found.contains(ppid) && !found.contains(pid) && (names[pid] ?? "").hasPrefix("sshd") {
                found.append(pid)
                grew = true
            }
        }
        return found
    }

    /// SIGSTOP (or SIGCONT) every sshd process of `host`: the host stops answering, TCP stays up.
    func signalSSHD(of host: String, _ signal: Int32) {
        for pid in sshdProcesses(of: host) { kill(pid, signal) }
    }
}
