/// Command builders for PostgreSQL steps. Every psql, pg_dump and pg_restore invocation comes from
/// `PostgresConnection.invoke`: the password in that program's environment, never in an argument
/// list; psql never reads a psqlrc (`-X`) and stops at the first error.
public enum PostgresCommands {
    /// A query with its bound values, read by psql from stdin: values are psql variables set with
    /// `\set` (the query uses them as `:'name'`, a quoted literal, or `:"name"`, an identifier), so
    /// they reach the server as literals psql quotes, never as SQL text. Output is CSV with a header
    /// row (a field holding `,`, `"`, `|` or a newline is quoted, so data cannot split a row);
    /// NULL prints as `nullMarker`, which only this run knows.
    public static func query(_ sql: String, values: [(name: String, value: String)] = [], database: RenderedText,
                             nullMarker: String) -> ShellCommand {
        let connection = PostgresConnection(database)
        var script = "\\pset null '\(psqlQuoted(nullMarker))'\n"
        for (name, value) in values { script += "\\set \(name) '\(psqlQuoted(value))'\n" }
        script += sql + "\n"
        return ShellCommand(connection.invoke("psql", "-X -q --csv -P footer=off -v ON_ERROR_STOP=1") + [.literal(" -f -")],
                            input: [.quoted(script)])
    }

    /// A value inside a single-quoted psql meta-command argument: psql reads `\\`, `\'`, `\n`, `\r`.
    static func psqlQuoted(_ value: String) -> String {
        var out = ""
        for ch in value {
            switch ch {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.append(ch)
            }
        }
        return out
    }

    /// The line a backup prints when pg_dump failed: pg_isready's exit status afterwards
    /// (0 the server answers, 1 it rejects connections, 2 no response, 3 no attempt).
    public static let readinessPrefix = "marshal-pg-isready="

    /// Custom-format dump; prints path, size and sha256 for the journal. pg_dump writes to a
    /// temporary name renamed into place on success, so a failed dump leaves no partial file; on
    /// failure pg_isready says whether the server is still there (the cause, when it is not).
    public static func backup(database: RenderedText, to path: String) -> ShellCommand {
        let connection = PostgresConnection(database)
        let partial = path + ".marshal-partial"
        var fragments: [ShellCommand.Fragment] = [.literal("mkdir -p \"$(dirname "), .quoted(path), .literal(")\" && ")]
        fragments += connection.invoke("psql", "-X -q -v ON_ERROR_STOP=1") + [.literal(" -c \"\(migrationsTable)\" && { ")]
        fragments += connection.invoke("pg_dump", "-Fc -f \(ShellQuote.quote(partial))")
        fragments += [.literal(" || { rc=$?; rm -f "), .quoted(partial), .literal("; pg_isready -q -d "), connection.conninfoFragment,
                      .literal("; echo \"\(readinessPrefix)$?\"; exit $rc; }; } && mv -f "), .quoted(partial), .literal(" "), .quoted(path),
                      .literal(" && printf 'path=%s\\nsize=%s\\nsha256=%s\\n' "), .quoted(path),
                      .literal(" \"$(stat -c %s "), .quoted(path), .literal(")\" \"$(sha256sum "), .quoted(path),
                      .literal(" | cut -d' ' -f1)\"")]
        return ShellCommand(fragments)
    }

    public static func restore(from path: String, database: RenderedText) -> ShellCommand {
        ShellCommand(PostgresConnection(database).invoke("pg_restore", "--clean --if-exists --no-owner")
                     + [.literal(" "), .quoted(path)])
    }

    /// The bookkeeping table of applied migrations. Backups create it first, so a backup always
    /// holds the list of migrations applied when it was taken, and a restore puts that list back.
    static let migrationsTable = "create table if not exists marshal_migrations (name text primary key, applied_at timestamptz not null default now())"

    /// Applies `*.sql` files of `dir` in name order, each with its bookkeeping row in one
    /// transaction, skipping files recorded in `marshal_migrations`; prints `applied NAME` per file
    /// so the journal knows what changed. File names reach SQL only as psql variables (`:'n'`),
    /// which psql substitutes in scripts read with -f, never in -c.
    public static func migrate(directory: String, database: RenderedText) -> ShellCommand {
        let connection = PostgresConnection(database)
        return ShellCommand(
            [.literal("set -e; ")] + connection.invoke("psql", "-X -q -v ON_ERROR_STOP=1")
            + [.literal(" -c \"\(migrationsTable)\"; applied=$(")] + connection.invoke("psql", "-X -q -A -t -v ON_ERROR_STOP=1")
            + [.literal(" -c 'select name from marshal_migrations'); for f in $(ls "), .quoted(directory),
               .literal("/*.sql | sort); do n=$(basename \"$f\"); if ! printf '%s\\n' \"$applied\" | grep -qxF \"$n\"; then printf '%s\\n' \"insert into marshal_migrations(name) values (:'n');\" | ")]
            + connection.invoke("psql", "-X -q -1 -v ON_ERROR_STOP=1 -v n=\"$n\"")
            + [.literal(" -f \"$f\" -f -; echo \"applied $n\"; fi; done")]
        )
    }
}
