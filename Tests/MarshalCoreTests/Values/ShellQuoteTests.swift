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

    @Test("a command's display masks secrets; its executable form quotes them")
    func command() {
        let secret = Secret(name: "db", value: "pw with space")
        let command = ShellCommand([.literal("psql "), .secret(secret), .literal(" -c "), .quoted("select 1")])
        #expect(command.display == "psql *** -c 'select 1'")
        #expect(command.executable == "psql 'pw with space' -c 'select 1'")
        #expect("\(command)" == command.display)
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
