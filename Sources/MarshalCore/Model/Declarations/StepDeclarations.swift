/// One step kind as a reader of the reference needs it: its keys (from which the decoder, the
/// schema and the docs all read), its short form, where it runs, what it records and how it is undone.
public struct StepKindDeclaration: Sendable, Hashable {
    public var name: String
    public var summary: String
    /// The scalar form (`shell: "cmd"`, `wait: 30s`), and what the scalar means.
    public var shorthand: (shape: ValueShape, meaning: String)?
    public var object: ObjectShape
    public var runs: String
    public var evidence: String
    public var undo: String
    /// A step using this kind; `marshal docs` prints it and a test validates it.
    public var example: String

    public static func == (a: StepKindDeclaration, b: StepKindDeclaration) -> Bool { a.name == b.name && a.object == b.object }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
}

public enum StepDeclarations {
    static let onKey = KeyDeclaration("on", .listOrOne(.string), "Hosts or roles to run on, once, in the first batch (same as the step's own `on`).")
    static let noData = KeyDeclaration("on_no_data", .choice(NoDataPolicy.allCases.map(\.rawValue)), default: "fail",
                                       "What a check that measured nothing does: fail the run, pause for `--approve`, or pass.")
    static let database = KeyDeclaration("database", .template, required: true, "PostgreSQL connection string, usually `{{ secrets.NAME }}`.")

    /// Keys every step may have, besides its one kind key.
    public static let common = ObjectShape("step", keys: [
        KeyDeclaration("id", .identifier, "Identifier (letters, digits, _) for `steps.ID.…` references and `--approve`."),
        KeyDeclaration("name", .string, "What the output, journal and report call the step (default: derived from the kind)."),
        KeyDeclaration("on", .listOrOne(.string), "Hosts or roles to run on, once, during the first batch (default: every host of each batch)."),
        KeyDeclaration("every_batch", .boolean, default: "false", "With `on:`: run after every batch, not only in the first (a per-batch gate on the database or a queue host)."),
        KeyDeclaration("when", .expression, "Run only when this is true (else the step is skipped)."),
        KeyDeclaration("retries", .integer(minimum: 0), default: "0", "Extra attempts after a failure."),
        KeyDeclaration("delay", .duration, default: "1s", "Pause between attempts."),
        KeyDeclaration("until", .expression, "Retry until this is true (over the step's evidence)."),
        KeyDeclaration("timeout", .duration, "Stop the step after this long (it fails)."),
        KeyDeclaration("register", .identifier, "Also keep the evidence under this name, for `steps.NAME.…`."),
        KeyDeclaration("undo", .step, "A step that reverses this one on rollback (not on kinds that change nothing)."),
        KeyDeclaration("ignore_failure", .boolean, default: "false", "A failure is recorded but does not stop the run."),
        KeyDeclaration("label", .string, "What a gate measures, in words (`Cache hit rate`): its name in the report's Targets, JUnit and `marshal show`."),
        KeyDeclaration("idempotent", .boolean, default: "false", "Safe to run twice: `resume` re-runs it if it was in flight."),
        KeyDeclaration("undo_on_failure", .boolean, default: "false (true for a per-file migrate that committed files)",
                       "Run the `undo` also when this step failed, for what it changed before failing."),
    ])

    static let httpExpect = ValueShape.anyOf([
        .integer(minimum: 100), .expression,
        .object(ObjectShape("expectation", keys: [
            KeyDeclaration("status", .listOrOne(.integer(minimum: 100)), default: "200", "Accepted status codes."),
            KeyDeclaration("json", .dictionary(.any), "JSON path (`$.status`) → the value it must equal (strings may be templates)."),
            KeyDeclaration("body_contains", .string, "Text the body must contain."),
            KeyDeclaration("that", .expression, "An expression over `status`, `headers.*`, `body`, `$…`, `duration`."),
        ])),
    ])

    static func httpKind(_ name: String, summary: String, example: String) -> StepKindDeclaration {
        StepKindDeclaration(
            name: name, summary: summary,
            shorthand: (.template, "the URL; expects status 200"),
            object: ObjectShape(name, keys: [
                KeyDeclaration("url", .template, required: true, "The URL to request."),
                KeyDeclaration("method", .choice(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]), default: "GET", "HTTP method (any case)."),
                KeyDeclaration("headers", .dictionary(.template), "Request headers."),
                KeyDeclaration("body", .template, "Request body as text (not with `json`)."),
                KeyDeclaration("json", .any, "Request body as JSON (not with `body`)."),
                KeyDeclaration("expect", httpExpect, default: "status 200", "What the response must show: a status, an expression, or a mapping."),
                KeyDeclaration("within", .durationOrTemplate, "Keep trying until the expectation holds or this time has passed (a template such as \"{{ params.within }}\" is rendered when the run starts)."),
                KeyDeclaration("interval", .duration, default: "1s", "Pause between tries within `within`."),
                KeyDeclaration("request_timeout", .duration, default: "10s", "Timeout of one request."),
                KeyDeclaration("insecure", .boolean, default: "false", "Accept any TLS certificate (test systems only)."),
                onKey,
            ]),
            runs: "From this machine, once per target host with that host's variables (`{{ host.vars.base_url }}`).",
            evidence: "`status`, `duration` (seconds), `body` (first 4 KiB), `json` (the parsed body, when it is JSON); each attempt is a measurement.",
            undo: name == "health" ? "None: a health check changes nothing." : "A GET or HEAD changes nothing; give other methods an `undo` step when they change something.",
            example: example)
    }

    public static let kinds: [StepKindDeclaration] = [
        StepKindDeclaration(
            name: "shell", summary: "Run a shell command on each host.",
            shorthand: (.template, "the command"),
            object: ObjectShape("shell", keys: [
                KeyDeclaration("command", .template, required: true, "The command (values are shell-quoted; `| raw` opts out)."),
                KeyDeclaration("chdir", .template, "Folder to run in."),
                onKey,
            ]),
            runs: "On each host of the batch (or the `on:` hosts).",
            evidence: "`stdout`, `stdout_lines`, `stderr`, `rc`, `duration`, `truncated` (each stream is kept up to 64 KiB).",
            undo: "Only what its `undo` step does.",
            example: """
            - name: Record the release
              shell: { command: "echo {{ params.release }} >> releases.log", chdir: "{{ vars.app_dir }}" }
              undo: { shell: "sed -i '$ d' {{ vars.app_dir }}/releases.log" }
            """),
        StepKindDeclaration(
            name: "upload", summary: "Copy a file from this machine to each host, checked by sha256.",
            shorthand: nil,
            object: ObjectShape("upload", keys: [
                KeyDeclaration("src", .template, required: true, "The local file."),
                KeyDeclaration("dest", .template, required: true, "The path on the host."),
                KeyDeclaration("mode", .fileMode, default: "0644", "Octal file mode, best quoted: \"0644\"."),
                onKey,
            ]),
            runs: "On each host of the batch (or the `on:` hosts).",
            evidence: "The command line of the copy; the sha256 is compared after writing.",
            undo: "Only what its `undo` step does.",
            example: """
            - upload: { src: "config/app.env", dest: "{{ vars.app_dir }}/app.env", mode: "0600" }
            """),
        StepKindDeclaration(
            name: "release", summary: "Capistrano-style release: unpack to PATH/releases/ID, switch PATH/current atomically, keep the last few.",
            shorthand: nil,
            object: ObjectShape("release", keys: [
                KeyDeclaration("artifact", .template, required: true, "A tarball on this machine, such as build/app.tar.gz."),
                KeyDeclaration("path", .template, required: true, "The application folder on the host."),
                KeyDeclaration("id", .template, default: "the run id", "The release's folder name."),
                KeyDeclaration("keep", .integer(minimum: 1), default: "5", "Releases kept; older ones are removed."),
                onKey,
            ]),
            runs: "On each host of the batch (or the `on:` hosts).",
            evidence: "`release`, `previous` (the release that was live), `path`, `sha256`, `bytes`.",
            undo: "Automatic on rollback: `current` is switched back to `previous` (then its own `undo`, if any, runs).",
            example: """
            - release: { artifact: "build/app-{{ params.release }}.tar.gz", path: "{{ vars.app_dir }}", keep: 5 }
            """),
        StepKindDeclaration(
            name: "service", summary: "Start, stop, restart, reload or check a service under pm2, systemd or supervisor.",
            shorthand: nil,
            object: ObjectShape("service", keys: [
                KeyDeclaration("manager", .choiceOrTemplate(ServiceStep.Manager.allCases.map(\.rawValue)), required: true, "pm2, systemd or supervisor (or a template such as `{{ vars.process_manager }}`)."),
                KeyDeclaration("action", .choice(ServiceStep.Action.allCases.map(\.rawValue)), required: true, "What to do."),
                KeyDeclaration("name", .template, required: true, "The program or unit name."),
                KeyDeclaration("config", .template, "supervisord's config file (`supervisorctl -c`)."),
                onKey,
            ]),
            runs: "On each host of the batch (or the `on:` hosts).",
            evidence: "`name`, `state`, `pid`, `uptime`, `restarts` as the manager reports them after the action.",
            undo: "Only what its `undo` step does (a release's rollback is usually followed by a reload).",
            example: """
            - service: { manager: supervisor, action: restart, name: app, config: "{{ vars.app_dir }}/supervisord.conf" }
            """),
        StepKindDeclaration(
            name: "migrate", summary: "Apply the .sql files of a folder in name order, each once, recorded in marshal_migrations.",
            shorthand: nil,
            object: ObjectShape("migrate", keys: [
                KeyDeclaration("dir", .template, required: true, "The folder of .sql migrations (on the host)."),
                database,
                KeyDeclaration("transaction", .choice(MigrateStep.Transaction.allCases.map(\.rawValue)), default: "all",
                               "all: every pending file in one transaction (nothing applied unless all are); per-file: one each."),
                KeyDeclaration("table", .string, default: "marshal_migrations", "The bookkeeping table (schema.table allowed)."),
                onKey,
            ]),
            runs: "On each host of the batch, or usually once `on: db`.",
            evidence: "`applied` (file names), `count`, `pending_before`, `skipped`, `pending_after`, `table`, `transaction` (also when it fails).",
            undo: "Only what its `undo` step does (typically `restore` from the backup step).",
            example: """
            - migrate: { on: db, dir: migrations/, database: "{{ secrets.database_url }}" }
              undo: { restore: { on: db, from: "{{ steps.backup.path }}", database: "{{ secrets.database_url }}" } }
            """),
        StepKindDeclaration(
            name: "backup", summary: "pg_dump a database to a file on its host.",
            shorthand: nil,
            object: ObjectShape("backup", keys: [
                database,
                KeyDeclaration("to", .template, default: "STATE/backups/RUN_ID.dump", "The dump file on the host."),
                onKey,
            ]),
            runs: "On each host of the batch, or usually once `on: db`.",
            evidence: "`path`, `size`, `sha256` of the dump (use `{{ steps.ID.path }}` in a restore), `fingerprint` (row counts and schema digest, also kept as PATH.fingerprint).",
            undo: "Only what its `undo` step does.",
            example: """
            - id: backup
              backup: { on: db, database: "{{ secrets.database_url }}" }
            """),
        StepKindDeclaration(
            name: "restore", summary: "Restore a dump exactly: drop every user schema, pg_restore, check the backup's fingerprint.",
            shorthand: nil,
            object: ObjectShape("restore", keys: [
                KeyDeclaration("from", .template, required: true, "The dump file, e.g. `{{ steps.backup.path }}`."),
                KeyDeclaration("database", .template, "Connection string to restore into."),
                onKey,
            ]),
            runs: "On each host of the batch, or usually once `on: db`.",
            evidence: "`fingerprint`, `expected` (the backup's), `verified`; a mismatch fails the step.",
            undo: "Only what its `undo` step does.",
            example: """
            - restore: { on: db, from: /var/backups/app.dump, database: "{{ secrets.database_url }}" }
            """),
        StepKindDeclaration(
            name: "sql", summary: "Run a query through psql on a host and hold its first value to an expectation.",
            shorthand: nil,
            object: ObjectShape("sql", keys: [
                KeyDeclaration("query", .template, required: true, "The SQL (a read-only query is a check; anything else is a change). Values go in `args`, never as `{{ … }}` in the text."),
                database,
                KeyDeclaration("args", .dictionary(.template), "Values bound as psql variables: `args: { id: \"{{ params.id }}\" }`, used in the query as `:'id'`."),
                KeyDeclaration("expect", .expression, "An expression over `value` (the first column of the first row), `rows`, `row_count`, `duration` (round trip), `execution_time` and `planning_time` (with `timing: explain`), `baseline.STEP.FIELD`; `{{ params.x }}` in it is rendered when the run starts."),
                KeyDeclaration("timing", .choice(SQLStep.Timing.allCases.map(\.rawValue)), default: "client",
                               "client: the round trip as `duration`; explain: also the server's own time from `EXPLAIN (ANALYZE, FORMAT JSON)` as `execution_time`, `planning_time` (read-only queries only: it runs the query again)."),
                noData,
                onKey,
            ]),
            runs: "On a host: give it `on:` (usually the database role).",
            evidence: "`value`, `rows` (first 100), `row_count`, `columns`, `duration`; with `timing: explain` `execution_time`, `planning_time` (seconds); the check and the query time are measurements.",
            undo: "None for a read-only query; a changing query takes an `undo` step.",
            example: """
            - sql: { on: db, query: "select count(*) from users", database: "{{ secrets.database_url }}", expect: "value >= 1" }
            """),
        httpKind("http", summary: "Send an HTTP request and check the response.", example: """
            - http: { url: "{{ vars.base_url }}/api/cache/flush", method: POST, expect: 204 }
            """),
        httpKind("health", summary: "Check a health URL, retrying `within` a time.", example: """
            - health: { url: "{{ vars.base_url }}/health", expect: { status: 200, json: { "$.status": ok } }, within: 30s }
            """),
        StepKindDeclaration(
            name: "benchmark", summary: "The built-in load generator: open-loop phases (requests per second) or a closed loop of connections, with thresholds.",
            shorthand: nil,
            object: ObjectShape("benchmark", keys: [
                KeyDeclaration("base_url", .template, required: true, "The URL scenario paths are relative to; with `targets: batch` rendered for each batch host (`{{ host.vars.base_url }}`)."),
                KeyDeclaration("targets", .choice(BenchmarkStep.Targets.allCases.map(\.rawValue)), default: "url",
                               "url: load `base_url` once per batch; batch: load each host of the batch itself (one load test per host, at the same time), so a canary is measured, not the front door."),
                KeyDeclaration("compare", .choice(BenchmarkStep.Comparison.allCases.map(\.rawValue)),
                               "stable (with `targets: batch`): the same load at the same time against as many hosts not yet updated; thresholds use `canary.METRIC` and `stable.METRIC`."),
                KeyDeclaration("phases", .list(.object(ObjectShape("phase", keys: [
                    KeyDeclaration("name", .string, "Shown in progress and the report."),
                    KeyDeclaration("duration", .duration, required: true, "How long the phase lasts."),
                    KeyDeclaration("rate", .number, required: true, "Requests per second (0 to 1000000)."),
                    KeyDeclaration("ramp_to", .number, "Rise linearly from `rate` to this by the end of the phase."),
                ]))), "Open loop: the arrival rate over time (give this or `connections`)."),
                KeyDeclaration("connections", .integer(minimum: 1), "Closed loop: this many connections back to back (with `duration`)."),
                KeyDeclaration("duration", .durationOrTemplate, "Length of a closed-loop test (may be a template)."),
                KeyDeclaration("threads", .integer(minimum: 1), default: "2", "Load generator threads."),
                KeyDeclaration("max_in_flight", .integer(minimum: 1), "Cap on requests outstanding at once (open loop); the rest count as dropped."),
                KeyDeclaration("scenarios", .list(.object(ObjectShape("scenario", keys: [
                    KeyDeclaration("get", .template, "Path to GET."), KeyDeclaration("post", .template, "Path to POST."),
                    KeyDeclaration("put", .template, "Path to PUT."), KeyDeclaration("patch", .template, "Path to PATCH."),
                    KeyDeclaration("delete", .template, "Path to DELETE."), KeyDeclaration("head", .template, "Path to HEAD."),
                    KeyDeclaration("name", .string, default: "METHOD PATH", "Name in thresholds (`NAME.p95`) and the report."),
                    KeyDeclaration("headers", .dictionary(.template), "Request headers."),
                    KeyDeclaration("json", .any, "JSON request body."),
                    KeyDeclaration("weight", .integer(minimum: 1), default: "1", "Share of requests."),
                    KeyDeclaration("expect_status", .listOrOne(.integer(minimum: 100)), default: "2xx", "Statuses that count as success."),
                ], exactlyOneOf: ["get", "post", "put", "patch", "delete", "head"]))), required: true, "Weighted requests, one method key each."),
                KeyDeclaration("thresholds", .keyed(pattern: "^([^.]+\\.)?(\(thresholdMetrics.joined(separator: "|")))$", value: .listOrOne(.string)),
                               "METRIC, SCENARIO.METRIC, or with `compare: stable` canary.METRIC / stable.METRIC → condition such as \"< 500ms\" or \"< stable.p95 * 1.1\"; conditions may use `baseline.STEP.METRIC`; metrics: \(thresholdMetrics.joined(separator: ", "))."),
                KeyDeclaration("labels", .dictionary(.string), "Threshold key (as in `thresholds`) → what it measures in words (`p95: p95 latency`), for the report's Targets, JUnit and `marshal show`."),
                KeyDeclaration("abort_on_fail", .boolean, default: "false", "Stop the load test as soon as a threshold fails."),
                noData,
                onKey,
            ], atLeastOneOf: ["phases", "connections"]),
            runs: "From this machine, once per batch (with `targets: batch`, against each host of the batch, and with `compare: stable` also against hosts not yet updated).",
            evidence: "With `compare: stable`, `canary.METRIC` and `stable.METRIC` (the slowest host of each side) besides the canary's own figures. Every threshold metric (`p50`…`p99`, `max`, `min`, `avg`, `rps`, `error_rate`, `requests`, `errors`, `dropped`); the full result (per scenario, per phase, per second) is a measurement the report draws from.",
            undo: "None: it changes nothing.",
            example: """
            - name: Latency gate
              benchmark:
                base_url: "{{ vars.base_url }}"
                phases: [ { name: warm-up, duration: 5s, rate: 10 }, { duration: 10s, rate: 10, ramp_to: 50 } ]
                scenarios:
                  - { get: /api/items, weight: 3 }
                  - { post: /api/items, json: { name: probe }, expect_status: [200, 201] }
                thresholds: { p95: "< 500ms", error_rate: "< 1%" }
            """),
        StepKindDeclaration(
            name: "probe", summary: "Run a command, extract one number (regex group 1 or a JSON path) and hold it to an expectation.",
            shorthand: nil,
            object: ObjectShape("probe", keys: [
                KeyDeclaration("command", .template, required: true, "The command to run."),
                KeyDeclaration("regex", .string, "Extract the first group of this regular expression (not with `json`)."),
                KeyDeclaration("json", .string, "Extract this JSON path, such as $.queue.depth (not with `regex`)."),
                KeyDeclaration("expect", .expression, "An expression over `value`."),
                noData,
                onKey,
            ]),
            runs: "On each host of the batch (or the `on:` hosts).",
            evidence: "`value` and the command's `stdout`, `stderr`, `rc`; the check is a measurement.",
            undo: "None: it changes nothing.",
            example: """
            - probe: { command: "cat /proc/loadavg", regex: "^([0-9.]+)", expect: "value < 4" }
            """),
        StepKindDeclaration(
            name: "metric", summary: "A Prometheus instant query held to an expectation.",
            shorthand: nil,
            object: ObjectShape("metric", keys: [
                KeyDeclaration("prometheus", .template, required: true, "The Prometheus base URL."),
                KeyDeclaration("query", .template, required: true, "A PromQL instant query."),
                KeyDeclaration("expect", .expression, "An expression over `value`."),
                noData,
                onKey,
            ]),
            runs: "From this machine, once per batch.",
            evidence: "`value`, `query`; the check is a measurement.",
            undo: "None: it changes nothing.",
            example: """
            - metric: { prometheus: "{{ vars.prometheus }}", query: "sum(rate(http_errors_total[1m]))", expect: "value < 1" }
            """),
        StepKindDeclaration(
            name: "soak", summary: "Re-check a set of gates every interval for a duration; the first breach fails the step.",
            shorthand: nil,
            object: ObjectShape("soak", keys: [
                KeyDeclaration("duration", .durationOrTemplate, required: true, "How long to keep checking (may be a template)."),
                KeyDeclaration("interval", .duration, default: "30s", "Time between rounds."),
                KeyDeclaration("gates", .steps, required: true, "Checks: health, http, metric, probe, sql or benchmark steps."),
                onKey,
            ]),
            runs: "From this machine, once per batch (probe and sql gates need `on:`).",
            evidence: "`rounds`, and `breached_at` (seconds) when a gate failed; every gate evaluation is a measurement.",
            undo: "None: it changes nothing.",
            example: """
            - soak:
                duration: 2m
                interval: 20s
                gates:
                  - health: "{{ vars.base_url }}/health"
            """),
        StepKindDeclaration(
            name: "approve", summary: "Pause until an operator approves (interactively, or `--approve ID` on run/resume).",
            shorthand: (.template, "the message shown"),
            object: ObjectShape("approve", keys: [
                KeyDeclaration("message", .template, "What the operator is asked."),
                onKey,
            ]),
            runs: "On this machine, once per batch.",
            evidence: "Who approved, in the journal.",
            undo: "None.",
            example: """
            - id: go_live
              approve: "Canary looks good: continue to the rest?"
            """),
        StepKindDeclaration(
            name: "wait", summary: "Wait a fixed time.",
            shorthand: (.durationOrTemplate, "how long"),
            object: ObjectShape("wait", keys: [
                KeyDeclaration("duration", .durationOrTemplate, required: true, "How long: a duration, or a template such as \"{{ params.pause }}\" rendered when the run starts."),
                onKey,
            ]),
            runs: "On this machine, once per batch.",
            evidence: "None beyond start and end.",
            undo: "None.",
            example: """
            - wait: 10s
            """),
        StepKindDeclaration(
            name: "notify", summary: "POST to a webhook at chosen moments; never fails the run by itself.",
            shorthand: nil,
            object: ObjectShape("notify", keys: [
                KeyDeclaration("url", .template, required: true, "The webhook URL, usually `{{ secrets.NAME }}`."),
                KeyDeclaration("events", .listOrOne(.choice(NotifyStep.Event.allCases.map(\.rawValue))), default: "now",
                               "When to post: now (where the step is), or at the run's start, failure, rollback, success."),
                KeyDeclaration("body", .any, default: "{ event, run, summary }", "JSON body."),
                KeyDeclaration("timeout", .duration, default: "5s", "Request timeout."),
                onKey,
            ]),
            runs: "On this machine.",
            evidence: "The response status in the step's message.",
            undo: "None.",
            example: """
            - notify: { url: "{{ secrets.slack_webhook }}", events: [failure, success] }
            """),
        StepKindDeclaration(
            name: "include", summary: "Run the steps of another runbook here.",
            shorthand: (.string, "the runbook (name or path beside this one)"),
            object: ObjectShape("include", keys: [
                KeyDeclaration("runbook", .string, required: true, "Name or path of the runbook."),
                KeyDeclaration("params", .dictionary(.any), "Its params."),
                onKey,
            ]),
            runs: "Its steps run where they say.",
            evidence: "That of its steps.",
            undo: "That of its steps.",
            example: """
            - include: { runbook: smoke-tests, params: { base_url: "{{ vars.base_url }}" } }
            """),
    ]

    /// Threshold metric names a benchmark accepts.
    public static let thresholdMetrics = LoadStats.metricNames.filter { $0 != "mean" }

    public static func kind(_ name: String) -> StepKindDeclaration? { kinds.first { $0.name == name } }
}
