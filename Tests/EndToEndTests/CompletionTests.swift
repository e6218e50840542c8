import Foundation
import MarshalTestSupport
import Testing

/// The bash completion script (swift-argument-parser's, installed by make install) completes
/// subcommands and, from the current project, runbook and environment names; options that take a
/// file or folder on this machine complete paths, and fixed choices complete their words.
@Suite("Shell completion")
struct CompletionTests {
    @Test("bash: `marshal plan ro<TAB>` offers the runbooks, `-e s<TAB>` the environments (in every command that takes -e), of the current folder")
    func names() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for path in ["Runbooks/rollout.yml", "Runbooks/rollback.yml", "Runbooks/smoke.yml", "Environments/staging.yml", "Environments/prod.yml"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            CLI.write("version: 1\n", to: dir + "/" + path)
        }
        let script = try await CLI.run(["--generate-completion-script", "bash"])
        #expect(script.status == 0)
        CLI.write(script.stdout, to: dir + "/completion.bash")
        // What bash does on TAB: set COMP_* and call the function with (command, current word, previous word).
        func complete(_ words: [String]) async throws -> String {
            let quoted = ([CLI.binary] + words).map { "'\($0)'" }.joined(separator: " ")
            let line = ([CLI.binary] + words).joined(separator: " ")
            let program = """
            source ./completion.bash
            COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count); COMP_LINE='\(line)'; COMP_POINT=${#COMP_LINE}
            _marshal '\(CLI.binary)' '\(words.last ?? "")' '\(words.count >= 2 ? words[words.count - 2] : CLI.binary)'
            echo "${COMPREPLY[*]}"
            """
            return try await Spawn.runAsync(["/bin/bash", "-c", program], cwd: dir).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try await complete(["plan", "ro"]) == "rollback rollout")
        #expect(try await complete(["run", "rollout", "-e", "s"]) == "staging")
        #expect(try await complete(["validate", "-e", ""]) == "prod staging")
        #expect(try await complete(["sch"]) == "schema")
        // Every command that takes -e shares one declaration of it (EnvironmentOption, NamedRun),
        // so each completes environment names, not only plan and run.
        for command in [["check"], ["rollback"], ["lock", "status"], ["lock", "release"], ["report", "r1"], ["resume", "r1"], ["show", "r1"]] {
            #expect(try await complete(command + ["-e", "p"]) == "prod", "marshal \(command.joined(separator: " ")) -e p<TAB>")
        }
        // Local files and folders: each option that names one completes paths (they completed nothing).
        CLI.write("key\n", to: dir + "/deploy_key")
        CLI.write("# old\n", to: dir + "/results.md")
        for words in [["run", "rollout", "--report", "res"], ["run", "rollout", "--junit", "res"], ["rollback", "--report", "res"],
                      ["resume", "r1", "--junit", "res"], ["report", "r1", "-o", "res"], ["report", "r1", "--verify", "res"],
                      ["schema", "runbook", "-o", "res"], ["bench", "--junit", "res"]] {
            #expect(try await complete(words) == "results.md", "marshal \(words.joined(separator: " "))<TAB>")
        }
        #expect(try await complete(["init", "--identity", "dep"]) == "deploy_key")
        #expect(try await complete(["init", "--database-url-file", "dep"]) == "deploy_key")
        #expect(try await complete(["init", "--artifact-dir", "Run"]) == "Runbooks")
        #expect(try await complete(["docs", "-o", "Env"]) == "Environments")
        // Fixed words: the process managers, and which schema.
        #expect(try await complete(["init", "--manager", "s"]) == "systemd supervisor")
        #expect(try await complete(["schema", "e"]) == "environment")
    }
}
