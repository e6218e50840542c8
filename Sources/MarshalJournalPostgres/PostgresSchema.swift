/// Tables of the shared journal, in the schema `marshal`. Migrations are append-only: a released one
/// is never edited; `marshal.schema_migrations` records which ran. Marshal applies them itself, under a
/// transaction-scoped advisory lock, so operators starting at the same moment do not race.
enum PostgresSchema {
    /// Key of the advisory lock that serialises migrations (any constant unlikely to collide).
    static let migrationLockKey = "7310275109"

    static let migrations: [(version: Int, sql: [String])] = [
        (1, [
            """
            CREATE TABLE marshal.runs (
                id text PRIMARY KEY,
                runbook text NOT NULL,
                runbook_path text NOT NULL,
                environment text NOT NULL,
                params text NOT NULL,
                inputs text NOT NULL,
                status text NOT NULL,
                started_at timestamptz NOT NULL,
                ended_at timestamptz,
                operator text NOT NULL,
                pid integer NOT NULL,
                kind text NOT NULL,
                parent_run_id text,
                failure text,
                created bigserial NOT NULL
            )
            """,
            "CREATE INDEX runs_by_environment ON marshal.runs (environment, started_at)",
            """
            CREATE TABLE marshal.steps (
                run_id text NOT NULL REFERENCES marshal.runs (id) ON DELETE CASCADE,
                sequence integer NOT NULL,
                step_index integer NOT NULL,
                step_id text,
                name text NOT NULL,
                kind text NOT NULL,
                phase text NOT NULL,
                host text,
                batch integer,
                status text NOT NULL,
                started_at timestamptz NOT NULL,
                ended_at timestamptz,
                exit_status integer,
                signal text,
                command text,
                stdout text NOT NULL,
                stderr text NOT NULL,
                registered text,
                attempts integer NOT NULL,
                message text,
                PRIMARY KEY (run_id, sequence)
            )
            """,
            """
            CREATE TABLE marshal.measurements (
                id bigserial PRIMARY KEY,
                run_id text NOT NULL REFERENCES marshal.runs (id) ON DELETE CASCADE,
                step_sequence integer,
                host text,
                kind text NOT NULL,
                name text NOT NULL,
                outcome text,
                expectation text,
                value double precision,
                unit text,
                payload text,
                recorded_at timestamptz NOT NULL,
                FOREIGN KEY (run_id, step_sequence) REFERENCES marshal.steps (run_id, sequence)
            )
            """,
            "CREATE INDEX measurements_by_run ON marshal.measurements (run_id)",
            """
            CREATE TABLE marshal.locks (
                environment text PRIMARY KEY,
                holder text NOT NULL,
                pid integer NOT NULL,
                run_id text NOT NULL,
                since timestamptz NOT NULL,
                lease_expires_at timestamptz NOT NULL
            )
            """,
        ]),
        // The lock's message (`marshal run -m`, Kamal's lock message).
        (2, ["ALTER TABLE marshal.locks ADD COLUMN message text"]),
    ]

    static var latest: Int { migrations.map(\.version).max() ?? 0 }
}
