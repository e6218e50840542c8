import Foundation
import MarshalCore
import MarshalTestSupport
import Testing

@Suite("Quoting and masking")
struct ShellQuoteTests {
    @Test("safe words stay bare; anything else is single-quoted with quotes escaped")
    func quote() {
        #expect(ShellQuote.quote("v2.1") == "v2.1")
        #expect(ShellQuote.quote("/srv/app") == "/srv/app")
        #expect(ShellQuote.quote("") == "''")
        #expect(ShellQuote.quote("a b") == "'a b'")
        #expect(ShellQuote.quote("it's") == "'it'\\''s'")
        #expect(ShellQuote.quote("$(reboot)") == "'$(reboot)'")
    }

    @Test("sh reads every quoted value back as the same single word", arguments: [
        "a b'; rm -rf /", "$(id)", "`id`", "x\ny", "'", "\"", "\\", "*", "-rf", "ü ñ", "a\tb", "${HOME}",
    ])
    func roundTrip(value: String) throws {
        let spawned = try Spawn.run(["/bin/sh"] + ["-c", "set -- \(ShellQuote.quote(value)); printf '%s|%s' \"$#\" \"$1\""])
        #expect(spawned.stdout == "1|\(value)")
    }

    @Test("a command's display masks secrets; its executable text holds none: each secret is read from stdin")
    func command() {
        let secret = Secret(name: "db", value: "pw with space")
        let command = ShellCommand([.literal("psql "), .secret(secret), .literal(" -c "), .quoted("select 1")])
        #expect(command.display == "psql *** -c 'select 1'")
        #expect(command.executable == "IFS= read -r __marshal_secret_1; psql \"$__marshal_secret_1\" -c 'select 1'")
        #expect(command.standardInput == Array("pw with space\n".utf8))
        #expect("\(command)" == command.display)
    }

    @Test("a secret reaches the command whole, whatever its bytes, and never its argument list", arguments: [
        "pw with space", "it's \"quoted\" \\ $(id) `id`", "two\nlines\n", "back\\nslash\\", "mixed \\c \\ and\nnewline\\", " lead and trail ", "ü ñ\t*",
    ])
    func secretThroughStdin(value: String) throws {
        let secret = Secret(name: "s", value: value)
        let other = Secret(name: "t", value: "second")
        let command = ShellCommand([.literal("printf '%s|%s|%s' "), .secret(secret), .literal(" "), .secret(other), .literal(" "), .secret(secret),
                                    .literal("; cat")], input: [.quoted("-after")])
        #expect(!command.executable.contains(value))
        let file = NSTemporaryDirectory() + "marshal-stdin-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: file, contents: Data(command.standardInput))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let spawned = try Spawn.run(["/bin/sh", "-c", "exec < \(file); " + command.executable])
        #expect(spawned.stdout == "\(value)|second|\(value)-after")
    }

    @Test("a secret never prints its value: description, debug, dump, JSON")
    func secretPrinting() throws {
        let secret = Secret(name: "token", value: "hunter2")
        #expect("\(secret)" == "***")
        #expect(String(reflecting: secret) == "Secret(token: ***)")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("hunter2"))
        let json = String(decoding: try JSONEncoder().encode(["s": secret]), as: UTF8.self)
        #expect(json == #"{"s":"***"}"#)
        #expect(secret.reveal() == "hunter2")
    }
}
