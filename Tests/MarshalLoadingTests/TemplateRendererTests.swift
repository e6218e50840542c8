import Foundation
import MarshalCore
import MarshalTestSupport
import Testing
@testable import MarshalLoading

@Suite("Templates")
struct TemplateRendererTests {
    let at = SourceLocation(file: "t.yml", line: 3, column: 12)
    let renderer = TemplateRenderer()

    func scope(_ params: [String: ConfigValue] = [:], secrets: [String: Secret] = [:]) -> TemplateScope {
        TemplateScope(params: params, vars: .map([ConfigEntry(key: "app_dir", value: .string("/srv/app"), location: at)]), secrets: secrets,
                      steps: [:])
    }

    @Test("a param with spaces and quotes reaches the shell as exactly one word")
    func quoting() throws {
        let evil = "a b'; rm -rf /"
        let rendered = try renderer.renderText(TemplateString("printf '%s\\n' {{ params.release }}", at: at), in: scope(["release": .string(evil)]))
        #expect(rendered.executable == "printf '%s\\n' 'a b'\\''; rm -rf /'")
        // Let a real shell count the words.
        let spawned = try Spawn.run(["/bin/sh"] + ["-c", "set -- " + rendered.executable.replacingOccurrences(of: "printf '%s\\n' ", with: "") + "; echo $#; printf '%s' \"$1\""])
        let output = spawned.stdout
        #expect(output == "1\n" + evil)
    }

    @Test("| raw passes a value unquoted")
    func raw() throws {
        let rendered = try renderer.renderText(TemplateString("ls {{ params.flags | raw }}", at: at), in: scope(["flags": .string("-l -a")]))
        #expect(rendered.executable == "ls -l -a")
    }

    @Test("a secret reaches the command through stdin (one shell word) and is masked everywhere else")
    func secrets() throws {
        let secret = Secret(name: "db", value: "postgres://u:hunter2 x@db/app")
        let rendered = try renderer.renderText(TemplateString("psql {{ secrets.db }}", at: at), in: scope(secrets: ["db": secret]))
        #expect(rendered.executable == "IFS= read -r __marshal_secret_1; psql \"$__marshal_secret_1\"")
        #expect(rendered.standardInput == Array("postgres://u:hunter2 x@db/app\n".utf8))
        #expect(rendered.display == "psql ***")
        #expect("\(rendered)" == "psql ***")
        #expect(String(reflecting: secret).contains("hunter2") == false)
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("hunter2"))
    }

    @Test("an undefined name is an error naming it, with a suggestion, never an empty string")
    func undefined() {
        #expect {
            try renderer.renderText(TemplateString("deploy {{ params.relase }}", at: at), in: scope(["release": .string("v2")]))
        } throws: { error in
            "\(error)" == "t.yml:3:19: error: undefined name 'params.relase' (did you mean 'params.release'?)"
        }
    }

    @Test("| default makes an undefined name acceptable")
    func defaultFilter() throws {
        let rendered = try renderer.renderText(TemplateString("{{ vars.missing | default:'x y' }}", at: at), in: scope())
        #expect(rendered.executable == "'x y'")
    }

    @Test("filters apply to values; applying one to a secret is refused")
    func filters() throws {
        let rendered = try renderer.renderText(TemplateString("{{ vars.app_dir | uppercase }}", at: at), in: scope())
        #expect(rendered.plainValue == "/SRV/APP")
        #expect(throws: TemplateRenderer.RenderError.self) {
            try renderer.renderText(TemplateString("{{ secrets.db | uppercase }}", at: at), in: scope(secrets: ["db": Secret(name: "db", value: "x")]))
        }
    }
}
