import Foundation
import MarshalTestSupport
import Testing

/// Issue 12: secrets stay out of every process list, here and on hosts; values reach SQL bound.
@Suite("Hostile input and secrets", .serialized)
struct SecretsTests {
    func lab(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    func write(_ text: String, to path: String, mode: Int = 0o644) {
        CLI.write(text, to: path)
        chmod(path, mode_t(mode))
    }

    /// `dir/env.yml` on this machine (transport local) with the database URL as a secret.
    func localEnvironment(_ dir: String, databaseURL: String) -> String {
        write(databaseURL + "\n", to: dir + "/database_url", mode: 0o600)
        write("""
        version: 1
        environment: secrets
        transport: local
        hosts:
          here: { address: 127.0.0.1, roles: [db], vars: { dir: \(dir) } }
        secrets:
          database_url: { file: \(dir)/database_url }
        """, to: dir + "/env.yml")
        return dir + "/env.yml"
    }

    @Test("while backup, migrate, sql and an on: http gate with a bearer token run over SSH, no /proc/*/cmdline holds the password, user:password, the URL or the token")
    func processListsHoldNoSecret() async throws {
        let url = try await TestPostgres.shared().database()
        let password = try #require(URLComponents(string: url)?.password)
        let user = try #require(URLComponents(string: url)?.user)
        // Enough rows that pg_dump runs for a while; a migration and a query that sleep, and a
        // slow endpoint: each program lives long enough for the sampler to see it.
        try await TestPostgres.run("create table big as select generate_series(1, 300000) as i", url: url)
        let lab = try await Lab(hosts: 1, roles: "db=1")
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let token = "tok-" + UUID().uuidString.lowercased()
        write(url + "\n", to: dir + "/database_url", mode: 0o600)
        write(token + "\n", to: dir + "/token", mode: 0o600)
        let environment = (lab.file(lab.environment) ?? "") + """
        secrets:
          database_url: { file: \(dir)/database_url }
          token: { file: \(dir)/token }

        """
        write(environment, to: dir + "/env.yml")
        try FileManager.default.createDirectory(atPath: dir + "/migrations", withIntermediateDirectories: true)
        write("select pg_sleep(1.5);\ncreate table shipped (i int);\n", to: dir + "/migrations/001_shipped.sql")
        write("""
        version: 1
        runbook: secrets
        targets: all
        steps:
          - backup: { on: db1, database: "{{ secrets.database_url }}", to: "\(dir)/backups/app.dump" }
          - migrate: { on: db1, dir: \(dir)/migrations, database: "{{ secrets.database_url }}" }
          - sql: { on: db1, database: "{{ secrets.database_url }}", query: "select count(*) as value from (select pg_sleep(1.5)) s", expect: "value == 1" }
          - http: { on: db1, url: "\(app.url)/slow/1500", headers: { Authorization: "Bearer {{ secrets.token }}" }, expect: { status: 200 } }
        """, to: dir + "/runbook.yml")

        let sampler = ProcessListSampler()
        let result = try await CLI.run(["run", dir + "/runbook.yml", "-e", dir + "/env.yml", "--state", dir + "/state"], timeout: 180)
        let lines = sampler.stop()
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")

        // The sampler saw the programs themselves, so a pass is not for want of looking.
        #expect(lines.contains { $0.contains("pg_dump ") }, "pg_dump never seen in \(sampler.sweeps) sweeps")
        #expect(lines.contains { $0.contains("psql ") && $0.contains("-f -") }, "psql (sql step) never seen")
        #expect(lines.contains { $0.contains("curl -K -") }, "remote curl never seen")
        let needles = [password, "\(user):\(password)", url, token, "Bearer \(token)"]
        for line in lines {
            for needle in needles where line.contains(needle) {
                Issue.record("a process list showed a secret: \(line.replacingOccurrences(of: needle, with: "<SECRET>"))")
            }
        }
        // The header reached the server (through curl's stdin), and the migration ran.
        let seen = try Spawn.run(["/usr/bin/curl", "-s", app.url + "/authorizations"]).stdout
        #expect(seen.contains("Bearer \(token)"))
        #expect(try await TestPostgres.run("select count(*) from pg_tables where tablename = 'shipped'", url: url) == "1")
        #expect(!result.stdout.contains(password) && !result.stdout.contains(token))
    }

    @Test("a secret passed as a param (to an included runbook, to the on_failure runbook) stays a secret: the shell reads it from stdin, no /proc/*/cmdline holds it, and output and journal show *** (it reached sh -c as a quoted word)")
    func secretThroughParamsStaysOffProcessLists() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let token = "tok-" + UUID().uuidString.lowercased()
        let env = CLI.localEnvironment(dir, name: "secret-params")
        write(token + "\n", to: dir + "/token", mode: 0o600)
        CLI.write(lab(env) + "\nsecrets:\n  token: { file: \(dir)/token }\n", to: env)
        // printf is a builtin: the only process that could show the value is the shell itself,
        // which lives while sleep runs, long enough for the sampler to see it.
        CLI.write("""
        version: 1
        runbook: uses-token
        params:
          token: { type: string, required: true }
          file: { type: string, required: true }
        steps:
          - shell: "printf '%s' {{ params.token }} > {{ host.vars.dir }}/{{ params.file }}; sleep 0.5"
        """, to: dir + "/uses-token.yml")
        CLI.write("""
        version: 1
        runbook: passes-token
        on_failure: { run: uses-token.yml, params: { token: "{{ secrets.token }}", file: after-failure } }
        steps:
          - include: { runbook: uses-token.yml, params: { token: "{{ secrets.token }}", file: included } }
          - shell: "false"
        """, to: dir + "/passes-token.yml")

        let sampler = ProcessListSampler()
        let result = try await CLI.run(["run", dir + "/passes-token.yml", "-e", env, "--state", dir + "/state"], timeout: 60)
        let lines = sampler.stop()
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(lab(dir + "/included") == token && lab(dir + "/after-failure") == token, "the steps did not get the value")
        #expect(lines.contains { $0.contains("sleep 0.5") }, "the shell never seen in \(sampler.sweeps) sweeps")
        for line in lines where line.contains(token) {
            Issue.record("a process list showed the secret: \(line.replacingOccurrences(of: token, with: "<SECRET>"))")
        }
        let shown = try await CLI.run(["show", "last", "--state", dir + "/state", "--output", "json"])
        #expect(!result.stdout.contains(token) && !result.stderr.contains(token) && !shown.stdout.contains(token))
        #expect(shown.stdout.components(separatedBy: "printf '%s' *** >").count == 3, "\(shown.stdout)")
    }

    @Test("sql results are read as CSV: a value holding | , \" or a newline is one value, never cut at a separator")
    func separatorsInValues() async throws {
        let url = try await TestPostgres.shared().database()
        let dir = CLI.temporaryDirectory()
        let env = localEnvironment(dir, databaseURL: url)
        func gate(_ query: String, _ expect: String) async throws -> CLI.Result {
            write("""
            version: 1
            runbook: sepa
            targets: all
            steps:
              - sql: { database: "{{ secrets.database_url }}", query: \(query), expect: \(expect) }
            """, to: dir + "/runbook.yml")
            return try await CLI.run(["run", dir + "/runbook.yml", "-e", env, "--state", dir + "/state"])
        }
        // Before the fix psql ran with -F '|' and these passed on the part before the '|'.
        #expect(try await gate(#""select 'ok|degraded' as value""#, #"'value == "ok"'"#).status == 1)
        #expect(try await gate(#""select '1|999' as value""#, #""value == 1""#).status == 1)
        #expect(try await gate(#""select 'ok|degraded' as value""#, #"'value == "ok|degraded"'"#).status == 0)
        #expect(try await gate(#""select 'a,b\"c' as value, 2 as other""#, #"'value == "a,b\"c"'"#).status == 0)
        #expect(try await gate(#""select E'line1\\nline2|x,y' as value""#, "'value == \"line1\\nline2|x,y\"'").status == 0)
        // NULL is no data; the text '\N' and an empty text are values.
        #expect(try await gate(#""select null::text as value""#, #"'value == "x"'"#).stdout.contains("NULL"))
        #expect(try await gate(#""select '\\N' as value""#, #"'value == "\\N"'"#).status == 0)
        #expect(try await gate(#""select '' as value""#, #"'value == ""'"#).status == 0)
    }

    @Test("params reach SQL as bound values: an injection attempt is a plain string, and a placeholder in a query is refused at validate")
    func injectionThroughParams() async throws {
        let url = try await TestPostgres.shared().database()
        let dir = CLI.temporaryDirectory()
        let env = localEnvironment(dir, databaseURL: url)
        write("""
        version: 1
        runbook: inject
        targets: all
        params:
          v: { type: string, required: true }
        steps:
          - sql:
              database: "{{ secrets.database_url }}"
              args: { v: "{{ params.v }}" }
              query: "select count(*) as value from pg_tables where tablename = :'v'"
              expect: "value == 0"
        """, to: dir + "/bound.yml")
        let attack = "x'; create table pwned(i int); select 0 as value; --"
        let result = try await CLI.run(["run", dir + "/bound.yml", "-e", env, "--state", dir + "/state", "-p", "v=\(attack)"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(try await TestPostgres.run("select count(*) from pg_tables where tablename = 'pwned'", url: url) == "0")

        // The form that was injectable is refused before anything runs, at the placeholder.
        write("""
        version: 1
        runbook: inject
        targets: all
        params:
          v: { type: string, required: true }
        steps:
          - sql: { database: "{{ secrets.database_url }}", query: "select '{{ params.v }}' as value", expect: "value == 0" }
        """, to: dir + "/pasted.yml")
        let validated = try await CLI.run(["validate", dir + "/pasted.yml"])
        #expect(validated.status == 2)
        // Line 7, at the `{{` of the placeholder.
        let line7 = try #require(lab(dir + "/pasted.yml").split(separator: "\n", omittingEmptySubsequences: false).dropFirst(6).first)
        let column = line7.distance(from: line7.startIndex, to: try #require(line7.range(of: "{{ params.v")).lowerBound) + 1
        #expect(validated.stderr.contains("pasted.yml:7:\(column):"), "\(validated.stderr)")
        #expect(validated.stderr.contains(":'v'"))
        let refused = try await CLI.run(["run", dir + "/pasted.yml", "-e", env, "--state", dir + "/state", "-p", "v=\(attack)"])
        #expect(refused.status == 2)
        #expect(try await TestPostgres.run("select count(*) from pg_tables where tablename = 'pwned'", url: url) == "0")

        // psql would insert a bare :v unquoted: refused too; a ::cast is not a variable.
        write("""
        version: 1
        runbook: inject
        targets: all
        params:
          v: { type: string, required: true }
        steps:
          - sql: { database: "{{ secrets.database_url }}", args: { v: "{{ params.v }}" }, query: "select :v::int as value", expect: "value == 0" }
        """, to: dir + "/bare.yml")
        let bare = try await CLI.run(["validate", dir + "/bare.yml"])
        #expect(bare.status == 2)
        #expect(bare.stderr.contains("':v' in a sql query inserts the value unquoted"), "\(bare.stderr)")

        // `| raw` is the author saying the text is SQL.
        write("""
        version: 1
        runbook: inject
        targets: all
        params:
          table: { type: string, default: pg_class }
        steps:
          - sql: { database: "{{ secrets.database_url }}", query: "select count(*) as value from {{ params.table | raw }}", expect: "value > 0" }
        """, to: dir + "/raw.yml")
        #expect(try await CLI.run(["validate", dir + "/raw.yml"]).status == 0)
    }

    @Test("PostgreSQL stopped mid-backup: no dump file is left, and the message names the lost server")
    func serverStoppedMidBackup() async throws {
        // A cluster of its own: this test stops it (its watchdog removes it if the test fails early).
        let pg = try await TestPostgres.start()
        let url = try await pg.database()
        try await TestPostgres.run("create table held (i int)", url: url)
        let dir = CLI.temporaryDirectory()
        let env = localEnvironment(dir, databaseURL: url)
        write("""
        version: 1
        runbook: backup
        targets: all
        steps:
          - backup: { database: "{{ secrets.database_url }}", to: "\(dir)/backups/app.dump" }
        """, to: dir + "/runbook.yml")
        // A session holding an exclusive lock makes pg_dump wait inside its dump, file open.
        let lock = TestPostgres.psql("begin; lock table held in access exclusive mode; select pg_sleep(60); commit", url: url)
        let holder = try Spawn.start(lock.arguments, environment: lock.environment, cwd: nil, stdout: "/dev/null", stderr: "/dev/null")
        defer { kill(holder, SIGKILL); _ = Spawn.wait(holder, timeout: 5) }
        let marshal = Task { try await CLI.run(["run", dir + "/runbook.yml", "-e", env, "--state", dir + "/state"], timeout: 120) }
        let deadline = Date().addingTimeInterval(60)
        var waiting = false
        while !waiting && Date() < deadline {
            waiting = (try? await TestPostgres.run("select count(*) from pg_stat_activity where application_name = 'pg_dump' and wait_event_type = 'Lock'", url: url)) == "1"
            if !waiting { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(waiting, "pg_dump never waited on the lock")
        try await pg.pause()
        let result = try await marshal.value
        #expect(result.status == 1)
        #expect(result.stdout.contains("lost the connection to PostgreSQL"), "\(result.stdout)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/backups")) ?? []
        #expect(left.isEmpty, "left behind: \(left)")
        try await pg.stop()
    }

    @Test("an on: http request sent with the host's curl keeps its URL, headers and body exact (curl reads them as config on stdin)")
    func remoteCurlConfigIsExact() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let env = CLI.localEnvironment(dir, name: "curlcfg")
        CLI.write("""
        version: 1
        runbook: curlcfg
        targets: all
        steps:
          - http:
              on: here
              method: POST
              url: "\(app.url)/hook"
              headers: { X-Odd: 'a "quoted" \\ value' }
              json: { text: "quote \\" back\\\\slash tab\\t end", n: 1 }
              expect: { status: 200 }
        """, to: dir + "/runbook.yml")
        let result = try await CLI.run(["run", dir + "/runbook.yml", "-e", env, "--state", dir + "/state"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let hooks = try await Shell.run(["/usr/bin/curl", "-s", "\(app.url)/hook"]).stdout
        let bodies = try #require(try JSONSerialization.jsonObject(with: Data(hooks.utf8)) as? [[String: Any]])
        #expect(bodies.first?["text"] as? String == "quote \" back\\slash tab\t end", "\(hooks)")
    }
}
