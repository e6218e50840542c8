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
    static func psqlQuoted(_ value: String) -> String { psqlEscapes.apply(value) }
    static let psqlEscapes = EscapeTable(["\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r"])

    /// The line a backup prints when pg_dump failed: pg_isready's exit status afterwards
    /// (0 the server answers, 1 it rejects connections, 2 no response, 3 no attempt).
    public static let readinessPrefix = "marshal-pg-isready="

    /// Custom-format dump; prints path, size and sha256 for the journal, then the database's
    /// fingerprint (see `fingerprintSQL`). pg_dump writes to a
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
                      .literal(" | cut -d' ' -f1)\" && ")]
        // The fingerprint goes beside the dump (`PATH.fingerprint`), so a restore from it can
        // check it got exactly this back, and into the output for the journal.
        fragments += fingerprint(database: database).fragments
        fragments += [.literal(" > "), .quoted(path + ".fingerprint"), .literal(" && sed 's/^/fingerprint=/' "), .quoted(path + ".fingerprint")]
        return ShellCommand(fragments)
    }

    /// What "the same database" means for a restore: one line per user table with its row count
    /// (`table schema.name rows N`), then `schema MD5` over every user column, constraint and
    /// index definition. Sorted, so two fingerprints compare as text.
    static let fingerprintSQL = """
        select 'table ' || n.nspname || '.' || c.relname || ' rows ' || (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I.%I', n.nspname, c.relname), false, true, '')))[1]::text from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%' union all select 'schema ' || md5(coalesce(string_agg(d, E'\\n' order by d), '')) from (select format('%s.%s.%s %s %s', table_schema, table_name, column_name, data_type, is_nullable) as d from information_schema.columns where table_schema not in ('pg_catalog', 'information_schema') union all select format('%s %s', conrelid::regclass, pg_get_constraintdef(oid)) from pg_constraint where connamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) union all select indexdef from pg_indexes where schemaname not in ('pg_catalog', 'information_schema') union all select format('seq %s.%s', sequence_schema, sequence_name) from information_schema.sequences) defs order by 1
        """

    public static func fingerprint(database: RenderedText) -> ShellCommand {
        ShellCommand(PostgresConnection(database).invoke("psql", "-X -q -A -t -v ON_ERROR_STOP=1") + [.literal(" -c "), .quoted(fingerprintSQL)])
    }

    /// An exact restore: every user schema is dropped first (so objects created after the backup
    /// are gone, which `pg_restore --clean` leaves behind), `public` is recreated, the dump is
    /// restored, and the result's fingerprint is printed (`fingerprint=` lines) with the one taken
    /// at backup time (`expected=` lines, when `PATH.fingerprint` exists) for the runner to compare.
    public static func restore(from path: String, database: RenderedText) -> ShellCommand {
        let connection = PostgresConnection(database)
        let dropAll = "do $$ declare s text; begin for s in select nspname from pg_namespace where nspname not in ('pg_catalog', 'information_schema') and nspname not like 'pg_toast%' and nspname not like 'pg_temp%' loop execute format('drop schema %I cascade', s); end loop; execute 'create schema public'; end $$"
        return ShellCommand([.literal("set -e; test -r "), .quoted(path), .literal(" || { echo \"backup file \""), .quoted(path),
                             .literal("\" not found\" >&2; exit 66; }; ")]
            + connection.invoke("psql", "-X -q -v ON_ERROR_STOP=1") + [.literal(" -c "), .quoted(dropAll), .literal(" && ")]
            + connection.invoke("pg_restore", "--no-owner --exit-on-error") + [.literal(" "), .quoted(path), .literal(" && ")]
            + fingerprint(database: database).fragments
            + [.literal(" | sed 's/^/fingerprint=/'; if [ -r "), .quoted(path + ".fingerprint"), .literal(" ]; then sed 's/^/expected=/' "),
               .quoted(path + ".fingerprint"), .literal("; fi")])
    }

    /// The default bookkeeping table of applied migrations. Backups create it first, so a backup
    /// always holds the list of migrations applied when it was taken, and a restore puts it back.
    static let migrationsTable = "create table if not exists marshal_migrations (name text primary key, applied_at timestamptz not null default now())"

    static func createTable(_ table: String) -> String {
        "create table if not exists \(table) (name text primary key, applied_at timestamptz not null default now())"
    }

    /// Applies `*.sql` files of `dir` in name order, skipping files recorded in `table`. Prints
    /// `skipped NAME` for files applied before, `pending NAME` for the others before anything runs,
    /// and `applied NAME` for each file committed, so the journal knows what changed even when the
    /// step fails. `all`: every pending file with its bookkeeping row in one transaction (`psql -1`
    /// over a generated script of `\i` lines); `per-file`: one transaction per file. File names
    /// reach SQL only as psql variables (`:'n1'`), set with -v, never spliced into SQL text.
    public static func migrate(directory: String, database: RenderedText, transaction: MigrateStep.Transaction = .all,
                               table: String = MigrateStep.defaultTable) -> ShellCommand {
        let connection = PostgresConnection(database)
        let prelude: [ShellCommand.Fragment] = [.literal("set -e; ")] + connection.invoke("psql", "-X -q -v ON_ERROR_STOP=1")
            + [.literal(" -c "), .quoted(createTable(table)), .literal("; applied=$(")] + connection.invoke("psql", "-X -q -A -t -v ON_ERROR_STOP=1")
            + [.literal(" -c "), .quoted("select name from \(table)"), .literal("); files=$(ls "), .quoted(directory),
               .literal("/*.sql | sort); pending=''; for f in $files; do n=$(basename \"$f\"); if printf '%s\\n' \"$applied\" | grep -qxF \"$n\"; then echo \"skipped $n\"; else echo \"pending $n\"; pending=\"$pending $f\"; fi; done; ")]
        let insert = "insert into \(table)(name) values (:'n');"
        switch transaction {
        case .perFile:
            return ShellCommand(prelude + [.literal("for f in $pending; do n=$(basename \"$f\"); printf '%s\\n' "), .quoted(insert), .literal(" | ")]
                                + connection.invoke("psql", "-X -q -1 -v ON_ERROR_STOP=1 -v n=\"$n\"")
                                + [.literal(" -f \"$f\" -f -; echo \"applied $n\"; done")])
        case .all:
            let numbered = insert.replacingOccurrences(of: ":'n'", with: ":'n%d'")
            return ShellCommand(prelude + [
                .literal("[ -z \"$pending\" ] && exit 0; script=$(mktemp); trap 'rm -f \"$script\"' EXIT; i=0; set --; for f in $pending; do i=$((i+1)); set -- \"$@\" -v \"f$i=$f\" -v \"n$i=$(basename \"$f\")\"; printf "),
                .quoted("\\\\i :f%d\n" + numbered + "\n"), .literal(" \"$i\" \"$i\" >> \"$script\"; done; "),
            ] + connection.invoke("psql", "-X -q -1 -v ON_ERROR_STOP=1 \"$@\"")
              + [.literal(" -f \"$script\"; for f in $pending; do echo \"applied $(basename \"$f\")\"; done")])
        }
    }
}
