import Foundation
import MarshalTestSupport
import Testing

/// The crash matrix of issue 11: a 3-host rollout with a backup, a two-file migrate, a release,
/// a reload and a failing gate. Marshal is SIGKILLed (MARSHAL_TEST_CRASH_AT) at every step
/// boundary, in the middle of steps and of undos; then `resume` is run until the run ends,
/// answering --rerun/--skip as an operator would after looking at the host (marker files). After
/// each: every host serves v1 again, the database is exactly as before, each change ran at most
/// once per host and each undo exactly once. One lab and one PostgreSQL serve every point.
/// `MARSHAL_CRASH_MATRIX_OUT=FILE` writes the matrix as a Markdown table.
@Suite("Crash matrix", .serialized)
struct CrashMatrixTests {
    static let points = [
        "main:started:backup@web1", "main:finished:backup@web1", "main:started:migrate@web1", "main:started:migrate@web1+0.4",
        "main:finished:migrate@web1", "main:started:ship@web2", "main:finished:ship@web1", "main:finished:ship@web3",
        "main:started:reload@web1", "main:started:reload+0.2", "main:finished:reload@web2", "main:started:gate@web3",
        "main:finished:gate@web1", "rollback:begin", "undo:started:reload@web1", "undo:finished:reload@web2",
        "undo:started:reload@web3+0.2", "undo:started:ship@web1", "undo:finished:ship@web3", "undo:started:migrate@web1",
        "undo:started:migrate@web1+0.1", "undo:finished:migrate@web1",
    ]
    static let hosts = ["web1", "web2", "web3"]

    struct Row { var point: String; var recovery: [String]; var result: String }

    @Test("kill -9 at 22 points (boundaries, mid-step, mid-undo), then resume until done: all hosts on v1, database as before, changes at most once, undos exactly once")
    func crashMatrix() async throws {
        let lab = try await Lab(hosts: 3)
        let pg = try await TestPostgres.start()
        let artifacts = SafeRolloutTests.artifacts(in: lab)
        let environment = lab.environment(withDatabase: pg)
        let migrations = lab.dir + "/migrations"
        try FileManager.default.createDirectory(atPath: migrations, withIntermediateDirectories: true)
        CLI.write("select pg_sleep(0.8);\ndelete from links where id > 50;\nupdate links set url = upper(url);\n", to: migrations + "/001_trim.sql")
        CLI.write("create table job_batches (id int primary key);\n", to: migrations + "/002_jobs.sql")
        let runbook = lab.dir + "/matrix.yml"
        CLI.write("""
        version: 1
        runbook: matrix
        targets: web
        steps:
          - id: backup
            backup: { on: web1, database: "{{ secrets.db }}", to: "\(lab.dir)/backups/{{ run.id }}.dump" }
          - id: migrate
            migrate: { on: web1, dir: "\(migrations)", database: "{{ secrets.db }}" }
            undo: { restore: { on: web1, from: "{{ steps.backup.path }}", database: "{{ secrets.db }}" } }
          - id: ship
            release: { artifact: "\(artifacts)/app-v2.tar.gz", path: "{{ vars.app_dir }}/app", id: v2 }
          - id: reload
            shell: "echo reload >> {{ vars.app_dir }}/reloads; sleep 0.5"
            undo: { shell: "echo undo >> {{ vars.app_dir }}/undo-reloads; sleep 0.5" }
          - id: gate
            shell: "false"
        on_failure: rollback
        """, to: runbook)

        var rows: [Row] = []
        for (n, point) in Self.points.enumerated() {
            try await reset(lab, pg, artifacts: artifacts)
            let state = lab.dir + "/state-\(n)"
            let killed = try await CLI.run(["run", runbook, "-e", environment, "--state", state], environment: ["MARSHAL_TEST_CRASH_AT": point])
            var recovery: [String] = []
            // A mid-command point ("+SECONDS") races the command itself: on a fast machine the
            // command may end first, and then the run simply finishes; the end state is checked
            // all the same. A boundary point must always kill.
            if point.contains("+"), killed.status == 1 {
                recovery.append("(the command ended before the kill)")
            } else {
                #expect(killed.status != 0 && killed.status != 1, "\(point): marshal was killed there: \(killed.stderr)")
            }
            var finalStatus = ""
            for _ in 0..<6 {
                let run = try await ShownRun.load("last", state: state)
                finalStatus = run.run.status
                guard run.run.status == "interrupted" else { break }
                var arguments = ["resume", "last", "--state", state]
                var attempt = try await CLI.run(arguments)
                if attempt.status == 3, attempt.stderr.contains("not resuming") {
                    let answers = answer(attempt.stderr, lab: lab)
                    arguments += answers
                    recovery.append("resume " + answers.joined(separator: " "))
                    attempt = try await CLI.run(arguments)
                } else {
                    recovery.append("resume")
                }
                #expect(attempt.status == 1, "\(point): the resume ends rolled back: \(attempt.stderr)")
            }
            // The resume released the killed run's lock on the lock host too: nothing is left there.
            let left = (try? FileManager.default.contentsOfDirectory(atPath: lab.dir + "/home/.marshal/locks")) ?? []
            #expect(left.isEmpty, "\(point): no host lock left behind: \(left)")
            let failures = await check(lab, pg, point: point, status: finalStatus)
            rows.append(Row(point: point, recovery: recovery, result: failures.isEmpty ? "ok" : failures.joined(separator: "; ")))
            for failure in failures { Issue.record("\(point): \(failure)") }
        }
        #expect(Set(Self.points).count >= 20)
        var table = "| # | killed at | recovery | outcome |\n|---|---|---|---|\n"
        for (i, row) in rows.enumerated() {
            table += "| \(i + 1) | `\(row.point)` | \(row.recovery.isEmpty ? "none needed" : row.recovery.map { "`\($0)`" }.joined(separator: ", ")) | \(row.result) |\n"
        }
        if let out = ProcessInfo.processInfo.environment["MARSHAL_CRASH_MATRIX_OUT"] { CLI.write(table, to: out) }
        print(table)
    }

    /// Back to the state before the rollout: v1 live everywhere, no markers, the original data.
    func reset(_ lab: Lab, _ pg: TestPostgres, artifacts: String) async throws {
        for host in Self.hosts {
            let app = lab.hostDir(host) + "/app"
            try? FileManager.default.removeItem(atPath: app)
            try FileManager.default.createDirectory(atPath: app + "/releases/v1", withIntermediateDirectories: true)
            _ = try Shell.runBlocking(["/bin/tar", "-xzf", artifacts + "/app-v1.tar.gz", "-C", app + "/releases/v1"])
            try FileManager.default.createSymbolicLink(atPath: app + "/current", withDestinationPath: "releases/v1")
            for marker in ["reloads", "undo-reloads"] { try? FileManager.default.removeItem(atPath: lab.hostDir(host) + "/" + marker) }
        }
        try? FileManager.default.removeItem(atPath: lab.dir + "/backups")
        _ = try await pg.query("drop schema public cascade; create schema public; create table links (id int primary key, url text not null); insert into links select g, 'http://x/' || g from generate_series(1, 100) g; create table marshal_migrations (name text primary key, applied_at timestamptz not null default now())")
    }

    /// What an operator answers after looking at the host: a change or undo whose marker is
    /// there finished (--skip), one whose marker is missing did not (--rerun); a release or a
    /// restore is simply done again (both are idempotent). A change that had already failed on a
    /// host when Marshal was killed is asked about too ("had failed on"): on a loaded machine the
    /// other hosts' gates can fail before the kill point is reached.
    func answer(_ stderr: String, lab: Lab) -> [String] {
        var answers: [String] = []
        let pattern = try! NSRegularExpression(pattern: #"(the undo of )?'(\w+)' \([^)]*\) (?:was in flight|had failed) on (web\d)"#)
        let range = NSRange(stderr.startIndex..., in: stderr)
        for match in pattern.matches(in: stderr, range: range) {
            let isUndo = match.range(at: 1).location != NSNotFound
            let step = String(stderr[Range(match.range(at: 2), in: stderr)!])
            let host = String(stderr[Range(match.range(at: 3), in: stderr)!])
            let marker = isUndo ? "undo-reloads" : "reloads"
            let done = step == "reload" && count(lab, host, marker) > 0
            answers += [done ? "--skip" : "--rerun", "\(step)@\(host)"]
        }
        return answers
    }

    func count(_ lab: Lab, _ host: String, _ file: String) -> Int {
        (lab.file(lab.hostDir(host) + "/" + file) ?? "").split(separator: "\n").count
    }

    func check(_ lab: Lab, _ pg: TestPostgres, point: String, status: String) async -> [String] {
        var failures: [String] = []
        if status != "rolled_back" { failures.append("the run ended \(status), not rolled_back") }
        for host in Self.hosts {
            let serving = lab.file(lab.hostDir(host) + "/app/current/VERSION")?.trimmingCharacters(in: .whitespacesAndNewlines)
            if serving != "v1" { failures.append("\(host) serves \(serving ?? "nothing"), not v1") }
            let reloads = count(lab, host, "reloads")
            let undos = count(lab, host, "undo-reloads")
            if reloads > 1 { failures.append("reload ran \(reloads) times on \(host)") }
            if undos != reloads { failures.append("undo of reload ran \(undos) times on \(host) for \(reloads) reloads") }
        }
        let database = (try? await pg.query("select (select count(*) || ' ' || count(*) filter (where url = upper(url)) from links) || ' ' || coalesce((select string_agg(name, ',') from marshal_migrations), '-') || ' ' || (select count(*) from pg_tables where schemaname = 'public')")) ?? "unreadable"
        if database != "100 0 - 2" { failures.append("database is '\(database)', expected the backup's '100 0 - 2'") }
        return failures
    }
}
