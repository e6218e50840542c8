import Foundation
import MarshalTestSupport

extension TestPostgres {
    /// psql on `url` as a test runs it: the password in PGPASSWORD, never in an argument list
    /// (the process-list test would see it); `-A -t`, so rows come back as `a|b` lines.
    static func psql(_ sql: String, url: String) -> (arguments: [String], environment: [String: String]) {
        let split = URLComponents(string: url)
        var bare = split
        bare?.password = nil
        return (["/usr/bin/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", bare?.string ?? url, "-c", sql],
                ["PGPASSWORD": split?.password ?? ""])
    }

    /// Runs SQL in the database at `url`; its rows.
    @discardableResult
    static func run(_ sql: String, url: String) async throws -> String {
        let command = psql(sql, url: url)
        let result = try await Spawn.runAsync(command.arguments, environment: command.environment, timeout: 60)
        guard result.status == 0 else { throw SQLFailed(sql: sql, stderr: result.stderr) }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

struct SQLFailed: Error, CustomStringConvertible {
    var sql: String
    var stderr: String
    var description: String { "\(sql): \(stderr)" }
}
