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

    /// Custom-format dump; prints path, size and sha256 for the journal.
    public static func backup(database: RenderedText, to path: String) -> ShellCommand {
        ShellCommand([.literal("mkdir -p \"$(dirname "), .quoted(path), .literal(")\" && psql -X -q -v ON_ERROR_STOP=1 -d ")] + database.quotedFragments
                     + [.literal(" -c \"\(migrationsTable)\" && pg_dump -Fc -f "), .quoted(path),
                      .literal(" -d ")] + database.quotedFragments
                     + [.literal(" && printf 'path=%s\\nsize=%s\\nsha256=%s\\n' "), .quoted(path),
                        .literal(" \"$(stat -c %s "), .quoted(path), .literal(")\" \"$(sha256sum "), .quoted(path),
                        .literal(" | cut -d' ' -f1)\"")])
    }

    public static func restore(from path: String, database: RenderedText) -> ShellCommand {
        ShellCommand([.literal("pg_restore --clean --if-exists --no-owner -d ")] + database.quotedFragments
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
        let db = database.quotedFragments
        return ShellCommand(
            [.literal("set -e; psql -X -q -v ON_ERROR_STOP=1 -d ")] + db
            + [.literal(" -c \"\(migrationsTable)\"; applied=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d ")] + db
            + [.literal(" -c 'select name from marshal_migrations'); for f in $(ls "), .quoted(directory),
               .literal("/*.sql | sort); do n=$(basename \"$f\"); if ! printf '%s\\n' \"$applied\" | grep -qxF \"$n\"; then printf '%s\\n' \"insert into marshal_migrations(name) values (:'n');\" | psql -X -q -1 -v ON_ERROR_STOP=1 -v n=\"$n\" -d ")] + db
            + [.literal(" -f \"$f\" -f -; echo \"applied $n\"; fi; done")]
        )
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
