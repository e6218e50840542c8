import Foundation
import MarshalTestSupport

/// A throw-away PostgreSQL cluster (scripts/lab-pg) for one test: role and database `app` with a
/// random password, on a free loopback port; stopped through pg_ctl with its data dir when the test
/// ends (a watchdog stops it after the TTL if a test crashes).
final class PostgresLab: @unchecked Sendable {
    let dir: String
    let port: Int
    let url: String
    let password: String
    let socket: String
    let bin: String

    init() throws {
        let started = try Shell.runBlocking([CLI.root + "/scripts/lab-pg", "start", "--ttl", "600"])
        var values: [String: String] = [:]
        for line in started.stdout.split(separator: "\n") {
            if let eq = line.firstIndex(of: "=") { values[String(line[..<eq])] = String(line[line.index(after: eq)...]) }
        }
        guard started.status == 0, let dir = values["LAB_DIR"], let port = values["PG_PORT"].flatMap(Int.init),
              let url = values["DATABASE_URL"], let socket = values["ADMIN_SOCKET"], let bin = values["PG_BIN"] else {
            throw LabError.startFailed(started.stderr + started.stdout)
        }
        self.dir = dir
        self.port = port
        self.url = url
        self.socket = socket
        self.bin = bin
        password = String(url.split(separator: "@")[0].split(separator: ":").last ?? "")
    }

    deinit { _ = try? Shell.runBlocking([CLI.root + "/scripts/lab-pg", "stop", dir]) }

    /// Stops the server at once (pg_ctl -m immediate), as a crash or an operator would.
    func halt() async throws { _ = try await Shell.run([CLI.root + "/scripts/lab-pg", "halt", dir]) }

    /// Runs SQL in database `app` as the superuser, over the lab's socket; rows as `a|b` lines.
    @discardableResult
    func admin(_ sql: String) throws -> String {
        let result = try Shell.runBlocking(adminCommand(sql))
        guard result.status == 0 else { throw LabError.sql(sql, result.stderr) }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func adminCommand(_ sql: String) -> [String] {
        ["/usr/sbin/runuser", "-u", "postgres", "--", bin + "/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
         "-h", socket, "-p", "\(port)", "-d", "app", "-c", sql]
    }

    enum LabError: Error { case startFailed(String), sql(String, String) }
}

/// Reads every /proc/*/cmdline over and over on its own thread, as any local user of a host can,
/// and keeps each distinct command line seen (NULs shown as spaces). Bounded by `limit`.
final class ProcessListSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: Set<String> = []
    private var running = true
    private(set) var sweeps = 0
    private let thread: Thread

    init(limit: TimeInterval = 300) {
        let box = Box()
        thread = Thread { box.sampler?.loop(until: Date().addingTimeInterval(limit)) }
        box.sampler = self
        thread.start()
    }

    private final class Box: @unchecked Sendable { weak var sampler: ProcessListSampler? }

    private func loop(until deadline: Date) {
        while Date() < deadline {
            lock.lock()
            let go = running
            lock.unlock()
            guard go else { return }
            var seen: [String] = []
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where entry.first?.isNumber == true {
                guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !data.isEmpty else { continue }
                seen.append(String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self))
            }
            lock.lock()
            lines.formUnion(seen)
            sweeps += 1
            lock.unlock()
        }
    }

    /// Stops sampling and returns every command line seen.
    func stop() -> Set<String> {
        lock.lock()
        running = false
        let result = lines
        lock.unlock()
        return result
    }
}
