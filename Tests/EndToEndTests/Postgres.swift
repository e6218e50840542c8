import Foundation
import MarshalTestSupport

/// A throw-away PostgreSQL cluster for one test: initdb'd under a temp dir (owned by the
/// `postgres` user, as initdb refuses root), listening on a free 127.0.0.1 port, with database
/// `app` owned by role `app` (password in `url`). Stopped with `pg_ctl stop -m immediate` on its
/// data dir when the test ends.
final class Postgres: @unchecked Sendable {
    static let bin = "/usr/lib/postgresql/15/bin"
    let dir: String
    let port: Int
    let url: String

    init() throws {
        dir = CLI.temporaryDirectory() + "/pg"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = try Shell.runBlocking(["/bin/chown", "postgres:postgres", dir])
        _ = try Shell.runBlocking(["/bin/chmod", "755", (dir as NSString).deletingLastPathComponent])
        let initdb = try Shell.runBlocking(["/usr/sbin/runuser", "-u", "postgres", "--", Self.bin + "/initdb", "-D", dir + "/data", "-U", "postgres",
                                            "--auth-local=peer", "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C"])
        guard initdb.status == 0 else { throw PostgresError.failed("initdb: \(initdb.stderr)") }
        port = Loopback.closedPort()
        CLI.write("""
        listen_addresses = '127.0.0.1'
        port = \(port)
        unix_socket_directories = '\(dir)'
        fsync = off
        synchronous_commit = off
        full_page_writes = off
        shared_buffers = 16MB
        max_connections = 40

        """, to: dir + "/data/postgresql.auto.conf")
        _ = try Shell.runBlocking(["/bin/chown", "postgres:postgres", dir + "/data/postgresql.auto.conf"])
        let started = try Shell.runBlocking(["/usr/sbin/runuser", "-u", "postgres", "--", Self.bin + "/pg_ctl", "-D", dir + "/data", "-l", dir + "/log",
                                             "-w", "-t", "30", "start"])
        guard started.status == 0 else { throw PostgresError.failed("pg_ctl start: \(started.stderr)\(started.stdout)") }
        let password = UUID().uuidString.replacingOccurrences(of: "-", with: "")
        url = "postgresql://app:\(password)@127.0.0.1:\(port)/app"
        let created = try Shell.runBlocking(["/usr/sbin/runuser", "-u", "postgres", "--", Self.bin + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                             "-h", dir, "-p", "\(port)", "-d", "postgres",
                                             "-c", "create role app login password '\(password)'", "-c", "create database app owner app"])
        guard created.status == 0 else { throw PostgresError.failed("create role/database: \(created.stderr)") }
    }

    deinit {
        _ = try? Shell.runBlocking(["/usr/sbin/runuser", "-u", "postgres", "--", Self.bin + "/pg_ctl", "-D", dir + "/data", "-m", "immediate", "stop"])
        try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent)
    }

    /// Runs SQL as `app`; returns psql's unaligned, tuples-only output.
    func query(_ sql: String) throws -> String {
        let result = try Shell.runBlocking([Self.bin + "/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        guard result.status == 0 else { throw PostgresError.failed("\(sql): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    enum PostgresError: Error { case failed(String) }
}
