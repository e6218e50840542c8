import Foundation
import MarshalTestSupport
import Testing

/// The database side of rollback (issue 11, cases 1 and 2): a half-applied migration is undone,
/// `transaction: all` commits nothing unless everything applies, and a restore is exact (objects
/// created after the backup are gone) and verified against the backup's fingerprint. Real sshd
/// host (web1 runs psql/pg_dump) and a real PostgreSQL cluster.
@Suite("Database rollback", .serialized)
struct DatabaseRollbackTests {
    /// `links` (100 rows, lowercase urls); the environment's secret `db` is the connection string.
    static func setUp(_ lab: Lab, _ pg: TestPostgres) async throws -> String {
        _ = try await pg.query("create table links (id int primary key, url text not null); insert into links select g, 'http://x/' || g from generate_series(1, 100) g")
        return lab.environment(withDatabase: pg)
    }

    /// Migrations: 001 deletes 50 rows and upper-cases urls; 002 fails (or, with `good`, creates
    /// `job_batches`).
    static func migrations(_ lab: Lab, secondFails: Bool) -> String {
        let dir = lab.dir + "/migrations-\(secondFails ? "bad" : "good")"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        CLI.write("delete from links where id > 50;\nupdate links set url = upper(url);\n", to: dir + "/001_trim.sql")
        CLI.write(secondFails ? "alter table no_such_table add column x int;\n" : "create table job_batches (id int primary key);\n",
                  to: dir + "/002_next.sql")
        return dir
    }

    static func runbook(_ lab: Lab, migrations: String, transaction: String, gateFails: Bool) -> String {
        let path = lab.dir + "/db-\(transaction)-\(gateFails).yml"
        CLI.write("""
        version: 1
        runbook: db
        targets: web1
        steps:
          - id: backup
            backup: { on: web1, database: "{{ secrets.db }}", to: "\(lab.dir)/backups/{{ run.id }}.dump" }
          - id: migrate
            migrate: { on: web1, dir: "\(migrations)", database: "{{ secrets.db }}", transaction: \(transaction) }
            undo: { restore: { on: web1, from: "{{ steps.backup.path }}", database: "{{ secrets.db }}" } }
          - id: gate
            shell: "\(gateFails ? "false" : "true")"
        on_failure: rollback
        """, to: path)
        return path
    }

    func state(_ pg: TestPostgres) async throws -> String {
        try await pg.query("select count(*) || ' ' || count(*) filter (where url = upper(url)) || ' ' || coalesce((select string_agg(name, ',' order by name) from marshal_migrations), '-') || ' ' || (select count(*) from pg_tables where tablename = 'job_batches') from links")
    }

    @Test("case 1: per-file migrate fails on file 2 after committing file 1: the rollback restores the backup, the DB is as before, evidence names the committed file")
    func halfAppliedMigrationIsUndone() async throws {
        let lab = try await Lab(hosts: 1)
        let pg = try await TestPostgres.start()
        let environment = try await Self.setUp(lab, pg)
        let path = Self.runbook(lab, migrations: Self.migrations(lab, secondFails: true), transaction: "per-file", gateFails: false)
        let result = try await CLI.run(["run", path, "-e", environment, "--state", lab.state])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("committed before the failure: 001_trim.sql"), "\(result.stderr)")
        #expect(result.stderr.contains("rolled back: migrate on web1"), "\(result.stderr)")
        #expect(try await state(pg) == "100 0 - 0", "100 rows, none upper-cased, no migration recorded")
        let shown = try await ShownRun.load("last", state: lab.state)
        #expect(shown.run.status == "rolled_back")
        let restore = shown.steps.first { $0.phase == "undo" && $0.kind == "undo:restore" }
        #expect(restore?.status == "succeeded")
        #expect(restore?.message?.contains("fingerprint matches the backup") == true, "\(restore?.message ?? "")")
        #expect(!result.stdout.contains(pg.url) && !result.stderr.contains(pg.url), "the connection string stays secret")
    }

    @Test("transaction: all (the default): a failing file 2 leaves file 1 uncommitted; nothing to restore")
    func allOrNothingMigration() async throws {
        let lab = try await Lab(hosts: 1)
        let pg = try await TestPostgres.start()
        let environment = try await Self.setUp(lab, pg)
        let path = Self.runbook(lab, migrations: Self.migrations(lab, secondFails: true), transaction: "all", gateFails: false)
        let result = try await CLI.run(["run", path, "-e", environment, "--state", lab.state])
        #expect(result.status == 1)
        #expect(result.stderr.contains("nothing committed (one transaction: rolled back)"), "\(result.stderr)")
        #expect(try await state(pg) == "100 0 - 0")
        let shown = try await ShownRun.load("last", state: lab.state)
        #expect(!shown.steps.contains { $0.kind == "undo:restore" }, "nothing was committed, so nothing is restored")
    }

    @Test("case 2: the restore is exact: a table created after the backup is gone and the next deploy's migration applies again; a fingerprint mismatch fails loudly")
    func exactRestore() async throws {
        let lab = try await Lab(hosts: 1)
        let pg = try await TestPostgres.start()
        let environment = try await Self.setUp(lab, pg)
        let good = Self.migrations(lab, secondFails: false)
        let failing = Self.runbook(lab, migrations: good, transaction: "all", gateFails: true)
        let first = try await CLI.run(["run", failing, "-e", environment, "--state", lab.state])
        #expect(first.status == 1, "\(first.stderr)")
        #expect(try await state(pg) == "100 0 - 0", "job_batches is gone, the migrations list is the backup's")
        let passing = Self.runbook(lab, migrations: good, transaction: "all", gateFails: false)
        let second = try await CLI.run(["run", passing, "-e", environment, "--state", lab.state])
        #expect(second.status == 0, "the next deploy's migrations apply: \(second.stderr)")
        #expect(try await state(pg) == "50 50 001_trim.sql,002_next.sql 1")
        let shown = try await ShownRun.load("last", state: lab.state)
        let migrate = shown.steps.first { $0.kind == "migrate" }
        #expect(migrate?.message == "applied 001_trim.sql, 002_next.sql")

        // A fingerprint that does not match what comes back is a loud failure, never a success.
        let backups = try FileManager.default.contentsOfDirectory(atPath: lab.dir + "/backups").filter { $0.hasSuffix(".fingerprint") }
        for name in backups {
            let file = lab.dir + "/backups/" + name
            CLI.write((lab.file(file) ?? "").replacingOccurrences(of: "rows 100", with: "rows 99"), to: file)
        }
        let tampered = lab.dir + "/tampered.yml"
        CLI.write("""
        version: 1
        runbook: restore-check
        targets: web1
        steps:
          - restore: { on: web1, from: "\(lab.dir)/backups/\(backups.sorted()[0].replacingOccurrences(of: ".fingerprint", with: ""))", database: "{{ secrets.db }}" }
        """, to: tampered)
        let mismatch = try await CLI.run(["run", tampered, "-e", environment, "--state", lab.state])
        #expect(mismatch.status == 1)
        #expect(mismatch.stderr.contains("RESTORE MISMATCH"), "\(mismatch.stderr)")
        #expect(mismatch.stderr.contains("table public.links rows 99"), "\(mismatch.stderr)")
    }

    @Test("case 8: a runbook-level rollback: in reference 004's order (stop workers, switch back, restore, start workers) runs in that order across all hosts; workers start only after the restore")
    func runbookRollbackOrder() async throws {
        let lab = try await Lab(hosts: 3)
        let pg = try await TestPostgres.start()
        let environment = try await Self.setUp(lab, pg)
        let artifacts = SafeRolloutTests.artifacts(in: lab)
        let migrations = Self.migrations(lab, secondFails: false)
        let order = lab.dir + "/order"
        let path = lab.dir + "/laravel.yml"
        CLI.write("""
        version: 1
        runbook: laravel
        params:
          release: { type: string, required: true }
        targets: web
        steps:
          - id: backup
            backup: { on: web1, database: "{{ secrets.db }}", to: "\(lab.dir)/backups/{{ run.id }}.dump" }
          - id: migrate
            migrate: { on: web1, dir: "\(migrations)", database: "{{ secrets.db }}" }
          - id: ship
            release: { artifact: "\(artifacts)/app-{{ params.release }}.tar.gz", path: "{{ vars.app_dir }}/app", id: "{{ params.release }}" }
          - id: workers
            shell: "echo start {{ host.name }} >> \(order)"
          - id: gate
            shell: "test {{ host.name }} != web3"
        rollback:
          - name: stop workers
            shell: "echo stop {{ host.name }} >> \(order)"
          - name: switch back
            shell: "cd {{ vars.app_dir }}/app && ln -sfn releases/{{ steps.ship.previous }} current.tmp && mv -T current.tmp current && echo switch {{ host.name }} {{ steps.ship.previous }} >> \(order)"
          - name: restore
            restore: { on: web1, from: "{{ steps.backup.path }}", database: "{{ secrets.db }}" }
          - name: start workers
            shell: "echo started {{ host.name }} {{ failed_run.id }} >> \(order)"
        on_failure: rollback
        """, to: path)
        let plan = try await CLI.run(["plan", path, "-e", environment, "-p", "release=v2"])
        #expect(plan.status == 0, "\(plan.stderr)")
        // v1 live everywhere, as an earlier rollout left it.
        for host in ["web1", "web2", "web3"] {
            let app = lab.hostDir(host) + "/app"
            try FileManager.default.createDirectory(atPath: app + "/releases/v1", withIntermediateDirectories: true)
            _ = try Shell.runBlocking(["/bin/tar", "-xzf", artifacts + "/app-v1.tar.gz", "-C", app + "/releases/v1"])
            try FileManager.default.createSymbolicLink(atPath: app + "/current", withDestinationPath: "releases/v1")
        }
        try? FileManager.default.removeItem(atPath: order)
        let result = try await CLI.run(["run", path, "-e", environment, "--state", lab.state, "-p", "release=v2"])
        #expect(result.status == 1, "\(result.stderr)")
        let shown = try await ShownRun.load("last", state: lab.state)
        #expect(shown.run.status == "rolled_back", "\(result.stderr)")
        let lines = (lab.file(order) ?? "").split(separator: "\n").map(String.init)
        let phases = lines.map { $0.split(separator: " ")[0] }
        #expect(phases == ["start", "start", "start", "stop", "stop", "stop", "switch", "switch", "switch", "started", "started", "started"], "\(lines)")
        #expect(lines.filter { $0.hasPrefix("switch") }.allSatisfy { $0.hasSuffix(" v1") }, "each host switched to its previous release: \(lines)")
        #expect(lines.filter { $0.hasPrefix("started") }.allSatisfy { $0.hasSuffix(shown.run.id) }, "failed_run.id in scope")
        for host in ["web1", "web2", "web3"] {
            #expect(lab.file(lab.hostDir(host) + "/app/current/VERSION") == "v1\n", "\(host) serves v1")
        }
        let undo = shown.steps.filter { $0.phase == "undo" && $0.kind != "rollback" }
        #expect(!undo.contains { $0.kind == "undo:release" }, "the reverse-undo walk did not run")
        let restore = try #require(undo.firstIndex { $0.kind == "undo:restore" })
        let firstStart = try #require(undo.firstIndex { $0.name.hasSuffix("start workers") })
        #expect(restore < firstStart && undo[restore].status == "succeeded", "the restore finished before any worker started")
        #expect(try await state(pg) == "100 0 - 0", "the database is the backup's")
    }
}
