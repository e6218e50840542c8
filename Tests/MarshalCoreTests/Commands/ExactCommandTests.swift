import Foundation
import MarshalCore
import Testing

/// Kamal-style: each command builder's output, byte for byte, so a change to what reaches a host's
/// shell is a deliberate change to this file. `executable` is the text the shell runs (secrets as
/// shell variables read from stdin); `display` is what output and the journal show.
@Suite("Command builders, exact strings")
struct ExactCommandTests {
    let database = RenderedText([.secret(Secret(name: "database_url", value: "postgresql://app:pw@db:5432/app"))])
    /// The database fingerprint query a backup stores and a restore compares (its SQL is long).
    var fingerprint: String { PostgresCommands.fingerprint(database: database).display }

    @Test("PostgreSQL: fingerprint") func fingerprintQuery() {
        #expect(fingerprint.hasPrefix("PGPASSWORD=*** psql -X -q -A -t -v ON_ERROR_STOP=1 -d *** -c 'select '\\''table '\\'' || n.nspname"))
        #expect(fingerprint.hasSuffix(") defs order by 1'"))
    }

    @Test("PostgreSQL: query") func query() {
        let command = PostgresCommands.query("select :'v'", values: [("v", "it's")], database: database, nullMarker: "N1")
        #expect(command.executable == "IFS= read -r __marshal_secret_1; IFS= read -r __marshal_secret_2; PGPASSWORD=\"$__marshal_secret_1\" psql -X -q --csv -P footer=off -v ON_ERROR_STOP=1 -d \"$__marshal_secret_2\" -f -")
        #expect(String(decoding: command.standardInput, as: UTF8.self) == "pw\npostgresql://app@db:5432/app\n\\pset null 'N1'\n\\set v 'it\\'s'\nselect :'v'\n")
    }

    @Test("PostgreSQL: backup") func backup() {
        #expect(PostgresCommands.backup(database: database, to: "/var/backups/run 1.dump").display
                == "mkdir -p \"$(dirname '/var/backups/run 1.dump')\" && PGPASSWORD=*** psql -X -q -v ON_ERROR_STOP=1 -d *** -c \"create table if not exists marshal_migrations (name text primary key, applied_at timestamptz not null default now())\" && { PGPASSWORD=*** pg_dump -Fc -f '/var/backups/run 1.dump.marshal-partial' -d *** || { rc=$?; rm -f '/var/backups/run 1.dump.marshal-partial'; pg_isready -q -d ***; echo \"marshal-pg-isready=$?\"; exit $rc; }; } && mv -f '/var/backups/run 1.dump.marshal-partial' '/var/backups/run 1.dump' && printf 'path=%s\\nsize=%s\\nsha256=%s\\n' '/var/backups/run 1.dump' \"$(stat -c %s '/var/backups/run 1.dump')\" \"$(sha256sum '/var/backups/run 1.dump' | cut -d' ' -f1)\" && "
                + fingerprint + " > '/var/backups/run 1.dump.fingerprint' && sed 's/^/fingerprint=/' '/var/backups/run 1.dump.fingerprint'")
    }

    @Test("PostgreSQL: restore") func restore() {
        #expect(PostgresCommands.restore(from: "/var/backups/run 1.dump", database: database).display
                == "set -e; test -r '/var/backups/run 1.dump' || { echo \"backup file \"'/var/backups/run 1.dump'\" not found\" >&2; exit 66; }; PGPASSWORD=*** psql -X -q -v ON_ERROR_STOP=1 -d *** -c 'do $$ declare s text; begin for s in select nspname from pg_namespace where nspname not in ('\\''pg_catalog'\\'', '\\''information_schema'\\'') and nspname not like '\\''pg_toast%'\\'' and nspname not like '\\''pg_temp%'\\'' loop execute format('\\''drop schema %I cascade'\\'', s); end loop; execute '\\''create schema public'\\''; end $$' && PGPASSWORD=*** pg_restore --no-owner --exit-on-error -d *** '/var/backups/run 1.dump' && "
                + fingerprint + " | sed 's/^/fingerprint=/'; if [ -r '/var/backups/run 1.dump.fingerprint' ]; then sed 's/^/expected=/' '/var/backups/run 1.dump.fingerprint'; fi")
    }

    @Test("PostgreSQL: migrate, all files in one transaction") func migrateAll() {
        #expect(PostgresCommands.migrate(directory: "/srv/app/migrations", database: database).display
                == "set -e; PGPASSWORD=*** psql -X -q -v ON_ERROR_STOP=1 -d *** -c 'create table if not exists marshal_migrations (name text primary key, applied_at timestamptz not null default now())'; applied=$(PGPASSWORD=*** psql -X -q -A -t -v ON_ERROR_STOP=1 -d *** -c 'select name from marshal_migrations'); files=$(ls /srv/app/migrations/*.sql | sort); pending=''; for f in $files; do n=$(basename \"$f\"); if printf '%s\\n' \"$applied\" | grep -qxF \"$n\"; then echo \"skipped $n\"; else echo \"pending $n\"; pending=\"$pending $f\"; fi; done; [ -z \"$pending\" ] && exit 0; script=$(mktemp); trap 'rm -f \"$script\"' EXIT; i=0; set --; for f in $pending; do i=$((i+1)); set -- \"$@\" -v \"f$i=$f\" -v \"n$i=$(basename \"$f\")\"; printf '\\\\i :f%d\ninsert into marshal_migrations(name) values (:'\\''n%d'\\'');\n' \"$i\" \"$i\" >> \"$script\"; done; PGPASSWORD=*** psql -X -q -1 -v ON_ERROR_STOP=1 \"$@\" -d *** -f \"$script\"; for f in $pending; do echo \"applied $(basename \"$f\")\"; done")
    }

    @Test("PostgreSQL: migrate, one transaction per file, own table") func migratePerFile() {
        #expect(PostgresCommands.migrate(directory: "/srv/app/migrations", database: database, transaction: .perFile,
                                         table: "app_migrations").display
                == "set -e; PGPASSWORD=*** psql -X -q -v ON_ERROR_STOP=1 -d *** -c 'create table if not exists app_migrations (name text primary key, applied_at timestamptz not null default now())'; applied=$(PGPASSWORD=*** psql -X -q -A -t -v ON_ERROR_STOP=1 -d *** -c 'select name from app_migrations'); files=$(ls /srv/app/migrations/*.sql | sort); pending=''; for f in $files; do n=$(basename \"$f\"); if printf '%s\\n' \"$applied\" | grep -qxF \"$n\"; then echo \"skipped $n\"; else echo \"pending $n\"; pending=\"$pending $f\"; fi; done; for f in $pending; do n=$(basename \"$f\"); printf '%s\\n' 'insert into app_migrations(name) values (:'\\''n'\\'');' | PGPASSWORD=*** psql -X -q -1 -v ON_ERROR_STOP=1 -v n=\"$n\" -d *** -f \"$f\" -f -; echo \"applied $n\"; done")
    }

    @Test("release: unpack") func unpack() {
        #expect(ReleaseCommands.unpack(path: "/srv/app", releaseID: "v2", tarball: "/srv/app/releases/.marshal-v2.tar.gz").display
                == "set -e; cd /srv/app; if [ -e releases/v2 ]; then echo existed=yes; else echo existed=no; fi; stage=releases/.marshal-stage-v2; tarball=/srv/app/releases/.marshal-v2.tar.gz; trap 'rc=$?; if [ $rc -ne 0 ]; then rm -rf -- \"$stage\"; rm -f -- \"$tarball\"; fi' EXIT; rm -rf -- \"$stage\"; mkdir -p -- \"$stage\"; tar -xzf \"$tarball\" -C \"$stage\" --no-same-owner --no-same-permissions; base=$(cd \"$stage\" && pwd -P); special=$(find \"$stage\" \\( -type b -o -type c -o -type p -o -type s \\) -printf '%P ' | head -c 300); if [ -n \"$special\" ]; then echo \"refused: the artifact holds device nodes, FIFOs or sockets: $special\" >&2; exit 4; fi; escaping=$(find \"$stage\" -type l -exec sh -c 's=$1; shift; for l; do t=$(realpath -m -- \"$l\"); case \"$t\" in \"$0\"|\"$0\"/*) ;; *) printf \"%s -> %s \" \"${l#$s/}\" \"$(readlink -- \"$l\")\";; esac; done' \"$base\" \"$stage\" {} + | head -c 300); if [ -n \"$escaping\" ]; then echo \"refused: the artifact holds links leading outside the release: $escaping\" >&2; exit 4; fi; find \"$stage\" \\( -type f -o -type d \\) -perm /6000 -exec chmod ug-s -- {} +; old=releases/.marshal-old-v2; rm -rf -- \"$old\"; if [ -e releases/v2 ]; then mv -T -- releases/v2 \"$old\"; fi; mv -T -- \"$stage\" releases/v2; rm -rf -- \"$old\"; touch releases/v2; live=$(readlink current 2>/dev/null | sed 's#^releases/##' || true); if [ \"$live\" != v2 ] || [ ! -e releases/.marshal-previous-v2 ]; then printf '%s\\n' \"$live\" > releases/.marshal-previous-v2; fi; echo \"previous=$(cat releases/.marshal-previous-v2)\"")
    }

    @Test("release: switch, clean-up, prune") func switchAndPrune() {
        #expect(ReleaseCommands.switchCurrent(path: "/srv/my app", releaseID: "v2").display
                == "set -e; cd '/srv/my app'; test -d releases/v2; ln -sfn releases/v2 current.marshal-tmp && mv -T current.marshal-tmp current")
        #expect(ReleaseCommands.cleanUpFailed(path: "/srv/app", releaseID: "v2", tarball: "/srv/app/releases/.marshal-v2.tar.gz",
                                              created: true).display
                == "cd /srv/app && rm -f -- /srv/app/releases/.marshal-v2.tar.gz && { [ \"$(readlink current)\" = releases/v2 ] || rm -rf -- releases/v2; }")
        #expect(ReleaseCommands.cleanUpFailed(path: "/srv/app", releaseID: "v2", tarball: "/srv/app/releases/.marshal-v2.tar.gz",
                                              created: false).display
                == "cd /srv/app && rm -f -- /srv/app/releases/.marshal-v2.tar.gz")
        #expect(ReleaseCommands.prune(path: "/srv/app", keep: 3).display
                == "cd /srv/app/releases && live=$(basename \"$(readlink ../current)\") && ls -1t | tail -n +4 | while read -r r; do [ \"$r\" = \"$live\" ] || rm -rf -- \"$r\"; done && for m in .marshal-previous-*; do [ \"$m\" = \".marshal-previous-$live\" ] || rm -f -- \"$m\"; done")
    }

    /// Swift reads CR LF as one Character: escaping by Character passed it through raw, which split a
    /// psql `\set` line and let a header value add a line (a second `url =`) to curl's config.
    @Test("a CR LF inside a value stays escaped: one psql \\set line, one curl config line")
    func carriageReturnLineFeed() async throws {
        let query = PostgresCommands.query("select :'v'", values: [("v", "a\r\nb")], database: database, nullMarker: "N1")
        #expect(String(decoding: query.standardInput, as: UTF8.self).contains("\\set v 'a\\r\\nb'\n"))
        let host = Capture()
        _ = try await RemoteCurlClient(executor: host).send(HTTPRequest(url: "http://x/", headers: [("X-A", "1\r\nurl = \"http://evil/\"")]))
        let config = String(decoding: try #require(host.command).standardInput, as: UTF8.self)
        #expect(config == "url = \"http://x/\"\nheader = \"X-A: 1\\r\\nurl = \\\"http://evil/\\\"\"\n")
    }

    /// Keeps the command a client sends instead of running it.
    final class Capture: RemoteExecutor, @unchecked Sendable {
        let hostName = "web1"
        var command: ShellCommand?
        func run(_ command: ShellCommand, timeout: Duration?) async throws(TransportError) -> CommandResult {
            self.command = command
            return CommandResult(stdout: Array("HTTP/1.1 204 No Content\r\n\r\n\n__MARSHAL_CURL__204 0.01 0.001 0.005".utf8), stderr: [],
                                 ending: .exited(0), duration: .milliseconds(10))
        }
        func upload(localPath: String, remotePath: String, mode: Int32) async throws(TransportError) -> UploadResult {
            UploadResult(bytes: 0, sha256: "", duration: .zero)
        }
        func close() async {}
    }

    @Test("remote curl: the command line holds no URL, header or body; they are curl's config on stdin") func remoteCurl() async throws {
        let host = Capture()
        let response = try await RemoteCurlClient(executor: host).send(HTTPRequest(
            method: "POST", url: "http://127.0.0.1:8080/api/health?token=abc", headers: [("Authorization", "Bearer s3cr\"t")],
            body: Array(#"{"a":"b\c"}"#.utf8), timeout: .milliseconds(2500), connectTimeout: .seconds(2), insecure: true))
        #expect(response.status == 204)
        let command = try #require(host.command)
        #expect(command.display == "curl -K - -sS -i --max-time 3 --connect-timeout 2 -X POST -k -w '\\n__MARSHAL_CURL__%{http_code} %{time_total} %{time_connect} %{time_starttransfer}'")
        #expect(String(decoding: command.standardInput, as: UTF8.self) == "url = \"http://127.0.0.1:8080/api/health?token=abc\"\nheader = \"Authorization: Bearer s3cr\\\"t\"\ndata-raw = \"{\\\"a\\\":\\\"b\\\\c\\\"}\"\n")
    }
}
