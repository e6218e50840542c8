import Foundation

/// A real PostgreSQL cluster for tests, started by `scripts/lab-postgres` under a temporary folder on
/// a free loopback port, run as the `postgres` user, and stopped by its watchdog when the test
/// process ends (or its TTL runs out). Each test takes a fresh database with `database()`.
public final class TestPostgres: Sendable {
    public let directory: String
    /// The URL of the cluster's first database, password included: a secret, never printed by tests.
    public let url: String

    private init(directory: String, url: String) {
        self.directory = directory
        self.url = url
    }

    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        return FileManager.default.currentDirectoryPath
    }()

    static var script: String { repositoryRoot + "/scripts/lab-postgres" }

    /// The test process's shared cluster, started on first use.
    public static func shared() async throws -> TestPostgres { try await sharedStart.value }

    private static let sharedStart = Task<TestPostgres, Error> { try await start() }

    /// A cluster of its own (for tests that stop and start the server); with `statements`, it loads
    /// pg_stat_statements and its first database has the view.
    public static func start(durable: Bool = false, statements: Bool = false) async throws -> TestPostgres {
        var lastError = ""
        for _ in 0..<3 {
            let directory = NSTemporaryDirectory() + "marshal-pg-" + UUID().uuidString.prefix(8)
            var arguments = [script, "start", "--dir", directory, "--port", String(Loopback.closedPort()), "--ttl", "1800",
                             "--owner", String(getpid())]
            if durable { arguments.append("--durable") }
            if statements { arguments.append("--statements") }
            let result = try await Spawn.runAsync(arguments, timeout: 180)
            let url = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            if result.status == 0, url.hasPrefix("postgresql://") { return TestPostgres(directory: directory, url: url) }
            lastError = result.stderr
            _ = try? await Spawn.runAsync([script, "stop", "--dir", directory], timeout: 60)
        }
        throw TestPostgresError(message: "scripts/lab-postgres start failed: \(lastError)")
    }

    /// A new, empty database on this cluster; its URL.
    public func database() async throws -> String {
        let name = "t" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        let result = try await Spawn.runAsync([Self.script, "database", "--dir", directory, "--name", name], timeout: 60)
        guard result.status == 0 else { throw TestPostgresError(message: "createdb failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops the server, keeping its data (an outage); `resume()` starts it again on the same port.
    public func pause() async throws { try await control("pause") }
    public func resume() async throws { try await control("resume") }
    public func stop() async throws { try await control("stop") }

    private func control(_ command: String) async throws {
        let result = try await Spawn.runAsync([Self.script, command, "--dir", directory], timeout: 90)
        guard result.status == 0 else { throw TestPostgresError(message: "lab-postgres \(command) failed: \(result.stderr)") }
    }

    /// `url` without its password, and the environment that gives psql the password instead
    /// (PGPASSWORD): process-list tests sample every process on the machine, so a test's own
    /// psql with the password in its arguments would be reported as a leak of the tests next to it.
    public static func passwordInEnvironment(_ url: String) -> (url: String, environment: [String: String]) {
        guard var components = URLComponents(string: url), let password = components.password else { return (url, [:]) }
        components.password = nil
        return (components.string ?? url, ["PGPASSWORD": password])
    }

    /// Runs SQL on the first database as its owner; psql's unaligned, tuples-only output.
    public func query(_ sql: String) async throws -> String { try await Self.run(sql, url: url) }

    /// psql on `url` as a test runs it: the password in PGPASSWORD (`passwordInEnvironment`);
    /// `-A -t`, so rows come back as `a|b` lines.
    public static func psql(_ sql: String, url: String) -> (arguments: [String], environment: [String: String]) {
        let target = passwordInEnvironment(url)
        return (["/usr/lib/postgresql/15/bin/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", target.url, "-c", sql], target.environment)
    }

    /// Runs SQL in the database at `url`; its rows.
    @discardableResult
    public static func run(_ sql: String, url: String) async throws -> String {
        let command = psql(sql, url: url)
        let result = try await Spawn.runAsync(command.arguments, environment: command.environment, timeout: 60)
        guard result.status == 0 else { throw TestPostgresError(message: "\(sql): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The password part of `url`, for tests that look for leaks.
    public var password: String {
        guard let components = URLComponents(string: url), let password = components.password else { return "" }
        return password
    }
}

public struct TestPostgresError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
