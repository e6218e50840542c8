import Foundation
import MarshalCore
import Testing

/// Command builders are tested by exact string (Kamal-style): what reaches the shell's argument
/// list holds no password; the password travels on stdin into PGPASSWORD for one program.
@Suite("PostgreSQL commands")
struct PostgresCommandsTests {
    let database = RenderedText([.secret(Secret(name: "database_url", value: "postgresql://app:pa%20ss@db:5432/app?sslmode=require"))])

    @Test("a connection string is split into its password and the rest, in both libpq forms", arguments: [
        ("postgresql://app:pw@db/app", "postgresql://app@db/app", "pw"),
        ("postgres://app:p%40ss%2F@db:5432/app?sslmode=require", "postgres://app@db:5432/app?sslmode=require", "p@ss/"),
        ("postgresql://app@db/app?password=x%20y&sslmode=disable", "postgresql://app@db/app?sslmode=disable", "x y"),
        ("postgresql://db/app", "postgresql://db/app", nil),
        ("host=db password='it\\'s' dbname=app", "host='db' dbname='app'", "it's"),
        ("host=db dbname=app", "host=db dbname=app", nil),
    ] as [(String, String, String?)])
    func split(text: String, conninfo: String, password: String?) {
        let split = PostgresConnection.split(text)
        #expect(split.conninfo == conninfo)
        #expect(split.password == password)
    }

    @Test("the executable text and its argument lists hold no part of the password; stdin carries it")
    func noPasswordInArguments() {
        for command in [PostgresCommands.query("select 1", database: database, nullMarker: "N"),
                        PostgresCommands.backup(database: database, to: "/b/x.dump"),
                        PostgresCommands.restore(from: "/b/x.dump", database: database),
                        PostgresCommands.migrate(directory: "/m", database: database)] {
            #expect(!command.executable.contains("pa%20ss") && !command.executable.contains("pa ss"), "\(command.executable)")
            #expect(command.executable.contains("PGPASSWORD=\"$__marshal_secret_1\" "))
            #expect(String(decoding: command.standardInput, as: UTF8.self).hasPrefix("pa ss\npostgresql://app@db:5432/app?sslmode=require\n"))
        }
        // The exact restore (drop user schemas, pg_restore, fingerprint) runs three clients: each
        // gets the password and the connection string only as the shell variables read from stdin.
        let restore = PostgresCommands.restore(from: "/b/x.dump", database: database).executable
        #expect(restore.hasPrefix("IFS= read -r __marshal_secret_1; IFS= read -r __marshal_secret_2; "))
        #expect(!restore.contains("postgresql://") && !restore.contains("app@db"), "\(restore)")
        for client in ["psql", "pg_restore"] {
            let runs = restore.components(separatedBy: " \(client) ").count - 1
            let withSecrets = restore.components(separatedBy: "PGPASSWORD=\"$__marshal_secret_1\" \(client) ").count - 1
            #expect(runs > 0 && runs == withSecrets, "every \(client) gets its password from stdin: \(restore)")
        }
        let targets = restore.components(separatedBy: " -d ").dropFirst().map { $0.prefix(while: { $0 != " " }) }
        #expect(targets.count == 3 && targets.allSatisfy { $0 == "\"$__marshal_secret_2\"" }, "\(targets)")
        #expect(restore.contains("pg_restore --no-owner --exit-on-error -d \"$__marshal_secret_2\" /b/x.dump"))
    }

    @Test("a query's values are \\set over stdin, quoted for psql, never spliced into the SQL or put in argv")
    func boundValues() {
        let command = PostgresCommands.query("select :'v' as value", values: [("v", "x'; drop table t; --\\ \n")], database: database, nullMarker: "NULL-abc")
        #expect(!command.executable.contains("drop table"))
        let input = String(decoding: command.standardInput, as: UTF8.self)
        #expect(input.hasSuffix("\\pset null 'NULL-abc'\n\\set v 'x\\'; drop table t; --\\\\ \\n'\nselect :'v' as value\n"))
        #expect(command.executable.hasSuffix("psql -X -q --csv -P footer=off -v ON_ERROR_STOP=1 -d \"$__marshal_secret_2\" -f -"))
    }

    @Test("a failed dump removes its partial file and reports pg_isready's answer")
    func backupCleansUp() {
        let text = PostgresCommands.backup(database: database, to: "/b/x.dump").executable
        #expect(text.contains("-Fc -f /b/x.dump.marshal-partial -d"))
        #expect(text.contains("|| { rc=$?; rm -f /b/x.dump.marshal-partial; pg_isready -q -d \"$__marshal_secret_2\"; echo \"marshal-pg-isready=$?\"; exit $rc; }"))
        #expect(text.contains("mv -f /b/x.dump.marshal-partial /b/x.dump"))
    }
}
