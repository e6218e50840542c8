import GRDB

/// Tables of the journal. Migrations are append-only: a released one is never edited.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // Dates are stored as GRDB's UTC text ("2026-11-24 03:35:01.123"): sortable and readable
            // with the sqlite3 shell, to the millisecond. JSON columns hold text.
            try db.execute(sql: """
                CREATE TABLE runs (
                    id TEXT PRIMARY KEY NOT NULL,
                    runbook TEXT NOT NULL,
                    runbookPath TEXT NOT NULL,
                    environment TEXT NOT NULL,
                    params TEXT NOT NULL,
                    inputs TEXT NOT NULL,
                    status TEXT NOT NULL,
                    startedAt DATETIME NOT NULL,
                    endedAt DATETIME,
                    operator TEXT NOT NULL,
                    pid INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    parentRunId TEXT,
                    failure TEXT
                );
                CREATE INDEX runs_by_environment ON runs (environment, startedAt);

                CREATE TABLE steps (
                    runId TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                    sequence INTEGER NOT NULL,
                    stepIndex INTEGER NOT NULL,
                    stepId TEXT,
                    name TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    phase TEXT NOT NULL,
                    host TEXT,
                    batch INTEGER,
                    status TEXT NOT NULL,
                    startedAt DATETIME NOT NULL,
                    endedAt DATETIME,
                    exitStatus INTEGER,
                    signal TEXT,
                    command TEXT,
                    stdout TEXT NOT NULL,
                    stderr TEXT NOT NULL,
                    registered TEXT,
                    attempts INTEGER NOT NULL,
                    message TEXT,
                    PRIMARY KEY (runId, sequence)
                );

                CREATE TABLE measurements (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    runId TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                    stepSequence INTEGER,
                    host TEXT,
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    outcome TEXT,
                    expectation TEXT,
                    value REAL,
                    unit TEXT,
                    payload TEXT,
                    recordedAt DATETIME NOT NULL,
                    FOREIGN KEY (runId, stepSequence) REFERENCES steps (runId, sequence)
                );
                CREATE INDEX measurements_by_run ON measurements (runId);

                CREATE TABLE locks (
                    environment TEXT PRIMARY KEY NOT NULL,
                    holder TEXT NOT NULL,
                    pid INTEGER NOT NULL,
                    runId TEXT NOT NULL,
                    since DATETIME NOT NULL,
                    leaseExpiresAt DATETIME NOT NULL
                );
                """)
        }
        // The lock's message (`marshal run -m`, Kamal's lock message).
        migrator.registerMigration("v2-lock-message") { db in
            try db.execute(sql: "ALTER TABLE locks ADD COLUMN message TEXT")
        }
        return migrator
    }
}
