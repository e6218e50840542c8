/// Command builders for PostgreSQL steps. The connection string is always a fragment that masks
/// when it is a secret, and psql never echoes it (`-X` skips psqlrc, `-q` quiet).
public enum PostgresCommands {
    /// Unaligned, tuples-only output with `|` separators; stops at the first error.
    public static func query(_ sql: String, database: RenderedText) -> ShellCommand {
        ShellCommand([.literal("psql -X -q -A -F '|' -v ON_ERROR_STOP=1 -d ")] + database.quotedFragments
                     + [.literal(" -c "), .quoted(sql)])
    }

    /// Same, with a header row, so column names become evidence.
    public static func queryWithHeader(_ sql: String, database: RenderedText) -> ShellCommand {
        // NULL is printed as \N (psql prints it as an empty string by default, which reads as a real empty text).
        ShellCommand([.literal("psql -X -q -A -F '|' -P footer=off -P 'null=\\N' -v ON_ERROR_STOP=1 -d ")] + database.quotedFragments
                     + [.literal(" -c "), .quoted(sql)])
    }

    /// Custom-format dump; prints path, size and sha256 for the journal, then the database's
    /// fingerprint, which is also kept beside the dump (`PATH.fingerprint`) so that a restore
    /// from it can check it got exactly this back.
    public static func backup(database: RenderedText, to path: String) -> ShellCommand {
        ShellCommand([.literal("mkdir -p \"$(dirname "), .quoted(path), .literal(")\" && psql -X -q -v ON_ERROR_STOP=1 -d ")] + database.quotedFragments
                     + [.literal(" -c \"\(migrationsTable)\" && pg_dump -Fc -f "), .quoted(path),
                      .literal(" -d ")] + database.quotedFragments
                     + [.literal(" && printf 'path=%s\\nsize=%s\\nsha256=%s\\n' "), .quoted(path),
                        .literal(" \"$(stat -c %s "), .quoted(path), .literal(")\" \"$(sha256sum "), .quoted(path),
                        .literal(" | cut -d' ' -f1)\" && ")]
                     + fingerprint(database: database).fragments
                     + [.literal(" > "), .quoted(path + ".fingerprint"), .literal(" && sed 's/^/fingerprint=/' "), .quoted(path + ".fingerprint")])
    }

    /// What "the same database" means for a restore: one line per user table with its row count
    /// (`table schema.name rows N`), then `schema MD5` over every user column, constraint and
    /// index definition. Sorted, so two fingerprints compare as text.
    static let fingerprintSQL = """
        select 'table ' || n.nspname || '.' || c.relname || ' rows ' || (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I.%I', n.nspname, c.relname), false, true, '')))[1]::text from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%' union all select 'schema ' || md5(coalesce(string_agg(d, E'\\n' order by d), '')) from (select format('%s.%s.%s %s %s', table_schema, table_name, column_name, data_type, is_nullable) as d from information_schema.columns where table_schema not in ('pg_catalog', 'information_schema') union all select format('%s %s', conrelid::regclass, pg_get_constraintdef(oid)) from pg_constraint where connamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) union all select indexdef from pg_indexes where schemaname not in ('pg_catalog', 'information_schema') union all select format('seq %s.%s', sequence_schema, sequence_name) from information_schema.sequences) defs order by 1
        """

    public static func fingerprint(database: RenderedText) -> ShellCommand {
        ShellCommand([.literal("psql -X -q -A -t -v ON_ERROR_STOP=1 -d ")] + database.quotedFragments + [.literal(" -c "), .quoted(fingerprintSQL)])
    }

    /// An exact restore: every user schema is dropped first (so objects created after the backup
    /// are gone, which `pg_restore --clean` leaves behind), `public` is recreated, the dump is
    /// restored, and the result's fingerprint is printed (`fingerprint=` lines) with the one taken
    /// at backup time (`expected=` lines, when `PATH.fingerprint` exists) for the runner to compare.
    public static func restore(from path: String, database: RenderedText) -> ShellCommand {
        let db = database.quotedFragments
        let dropAll = "do $$ declare s text; begin for s in select nspname from pg_namespace where nspname not in ('pg_catalog', 'information_schema') and nspname not like 'pg_toast%' and nspname not like 'pg_temp%' loop execute format('drop schema %I cascade', s); end loop; execute 'create schema public'; end $$"
        return ShellCommand([.literal("set -e; test -r "), .quoted(path), .literal(" || { echo \"backup file \"")] + [.quoted(path), .literal("\" not found\" >&2; exit 66; }; psql -X -q -v ON_ERROR_STOP=1 -d ")] + db
            + [.literal(" -c "), .quoted(dropAll), .literal(" && pg_restore --no-owner --exit-on-error -d ")] + db
            + [.literal(" "), .quoted(path), .literal(" && ")] + fingerprint(database: database).fragments
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
        let db = database.quotedFragments
        let prelude: [ShellCommand.Fragment] = [.literal("set -e; psql -X -q -v ON_ERROR_STOP=1 -d ")] + db
            + [.literal(" -c "), .quoted(createTable(table)), .literal("; applied=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d ")] + db
            + [.literal(" -c "), .quoted("select name from \(table)"), .literal("); files=$(ls "), .quoted(directory),
               .literal("/*.sql | sort); pending=''; for f in $files; do n=$(basename \"$f\"); if printf '%s\\n' \"$applied\" | grep -qxF \"$n\"; then echo \"skipped $n\"; else echo \"pending $n\"; pending=\"$pending $f\"; fi; done; ")]
        let insert = "insert into \(table)(name) values (:'n');"
        switch transaction {
        case .perFile:
            return ShellCommand(prelude + [.literal("for f in $pending; do n=$(basename \"$f\"); printf '%s\\n' "), .quoted(insert),
                                           .literal(" | psql -X -q -1 -v ON_ERROR_STOP=1 -v n=\"$n\" -d ")] + db
                                + [.literal(" -f \"$f\" -f -; echo \"applied $n\"; done")])
        case .all:
            let numbered = insert.replacingOccurrences(of: ":'n'", with: ":'n%d'")
            return ShellCommand(prelude + [
                .literal("[ -z \"$pending\" ] && exit 0; script=$(mktemp); trap 'rm -f \"$script\"' EXIT; i=0; set --; for f in $pending; do i=$((i+1)); set -- \"$@\" -v \"f$i=$f\" -v \"n$i=$(basename \"$f\")\"; printf "),
                .quoted("\\\\i :f%d\n" + numbered + "\n"), .literal(" \"$i\" \"$i\" >> \"$script\"; done; psql -X -q -1 -v ON_ERROR_STOP=1 \"$@\" -d "),
            ] + db + [.literal(" -f \"$script\"; for f in $pending; do echo \"applied $(basename \"$f\")\"; done")])
        }
    }
}

extension RenderedText {
    /// The text as one shell word: a secret stays a secret fragment, anything else is quoted.
    public var quotedFragments: [Fragment] {
        if fragments.count == 1, case .secret = fragments[0] { return fragments }
        if containsSecret {
            // Mixed text with a secret inside: quote the parts in a double-quoted-safe way by
            // concatenating single-quoted words, which the shell joins into one argument.
            return fragments.map { fragment in
                switch fragment {
                case .literal(let t), .raw(let t), .quoted(let t): .quoted(t)
                case .secret: fragment
                }
            }
        }
        return [.quoted(plainValue)]
    }
}
