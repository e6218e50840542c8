import Foundation
import MarshalTestSupport

/// A real Redis (Debian's redis-server) for one test, started by scripts/lab-redis on a free port
/// with a random password; with `app: true` also the lab app, its queue worker and scheduler under
/// supervisord, from APP_DIR/current with v1 live. Stopped by PID when the test ends.
final class RedisLab: @unchecked Sendable {
    let dir: String
    let values: [String: String]

    /// Async so that starting Redis, the app and supervisord holds no thread of the cooperative pool.
    init(app: Bool) async throws {
        dir = CLI.temporaryDirectory()
        var arguments = [CLI.root + "/scripts/lab-redis", "start", "--dir", dir + "/lab", "--ttl", "600"]
        if app { arguments += ["--app-dir", dir + "/app"] }
        let result = try await Lab.starts.run { [arguments] in try await Shell.run(arguments) }
        guard result.status == 0 else { throw Lab.LabError.startFailed(result.stderr + result.stdout) }
        var values: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        self.values = values
    }

    deinit {
        let dir = dir
        Cleanup.inBackground {
            _ = try? Shell.runBlocking([CLI.root + "/scripts/lab-redis", "stop", "--dir", dir + "/lab"])
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    var port: String { values["REDIS_PORT"] ?? "" }
    var url: String { values["REDIS_URL"] ?? "" }
    var passwordFile: String { values["REDIS_PASSWORD_FILE"] ?? "" }
    var password: String { ((try? String(contentsOfFile: passwordFile, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
    var appURL: String { values["APP_URL"] ?? "" }
    var appDir: String { values["APP_DIR"] ?? "" }
    var artifacts: String { values["ARTIFACTS"] ?? "" }
    var supervisorConfig: String { values["SUPERVISOR_CONFIG"] ?? "" }

    /// redis-cli with the password in its environment (REDISCLI_AUTH), never in its arguments.
    func cli(_ arguments: [String]) async throws -> String {
        let result = try await Spawn.runAsync(["/usr/bin/redis-cli", "-p", port] + arguments,
                                              environment: ["REDISCLI_AUTH": password], timeout: 30)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func number(_ key: String) async throws -> Int { Int(try await cli(["GET", key])) ?? 0 }

    /// `supervisorctl status PROGRAM`'s line.
    func status(_ program: String) async throws -> String {
        try await Spawn.runAsync(["/usr/bin/supervisorctl", "-c", supervisorConfig, "status", program], timeout: 30).stdout
    }
}
