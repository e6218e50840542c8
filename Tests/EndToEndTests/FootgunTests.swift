import Foundation
import MarshalTestSupport
import Testing

/// The newcomer's footguns of issue 16, each shown fixed through the binary.
@Suite("Newcomer footguns", .serialized)
struct FootgunTests {
    @Test("relative ssh.identity and known_hosts resolve against the environment file's folder, not the current one")
    func relativePathsBesideTheFile() async throws {
        let lab = try await Lab(hosts: 1)
        let text = try String(contentsOfFile: lab.environment, encoding: .utf8)
            .replacingOccurrences(of: "identity: \(lab.dir)/", with: "identity: ../")
            .replacingOccurrences(of: "known_hosts: \(lab.dir)/", with: "known_hosts: ../")
        #expect(text.contains("identity: ../client_ed25519") && text.contains("known_hosts: ../known_hosts"), "\(text)")
        try FileManager.default.createDirectory(atPath: lab.dir + "/envs", withIntermediateDirectories: true)
        CLI.write(text, to: lab.dir + "/envs/relative.yml")
        CLI.write("""
        version: 1
        runbook: hello
        steps:
          - shell: echo reached {{ host.name }}
        """, to: lab.dir + "/hello.yml")
        // Started from an unrelated folder: "../client_ed25519" from there names nothing.
        let elsewhere = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: elsewhere) }
        let result = try await CLI.run(["run", lab.dir + "/hello.yml", "-e", lab.dir + "/envs/relative.yml", "--state", lab.state],
                                       cwd: elsewhere)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let shown = try await ShownRun.load("last", state: lab.state)
        #expect(shown.steps.first?.stdout == "reached web1\n")
    }

    @Test("validate -e renders every step for every host as plan does: a host var missing on some hosts is found once, naming them")
    func validateFindsWhatPlanFinds() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        CLI.write("""
        version: 1
        environment: mixed
        transport: local
        hosts:
          a: { address: 127.0.0.1, vars: { base_url: "http://127.0.0.1:1" } }
          b: { address: 127.0.0.1 }
          c: { address: 127.0.0.1 }
        """, to: dir + "/env.yml")
        CLI.write("""
        version: 1
        runbook: check
        params:
          release: { type: string, required: true }
        steps:
          - shell: echo {{ params.release }}
          - health: "{{ host.vars.base_url }}/health"
        """, to: dir + "/runbook.yml")
        let expected = "\(dir)/runbook.yml:7:14: error: undefined name 'host.vars.base_url' (hosts b, c)"
        let validate = try await CLI.run(["validate", dir + "/runbook.yml", "-e", dir + "/env.yml"])
        #expect(validate.status == 2)
        #expect(validate.stderr.split(separator: "\n").map(String.init) == [expected, "1 error in 1 of 1 file"])
        let plan = try await CLI.run(["plan", dir + "/runbook.yml", "-e", dir + "/env.yml", "-p", "release=v1"])
        #expect(plan.status == 2)
        #expect(plan.stderr.split(separator: "\n").map(String.init) == [expected], "plan prints the finding once")
    }

    @Test("a template in an environment value is refused by validate (it would reach the shell as literal text)")
    func templateInEnvironmentRefused() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        CLI.write("""
        version: 1
        environment: templated
        transport: local
        hosts:
          here: { address: 127.0.0.1, vars: { user: "{{ env.USER }}" } }
        """, to: dir + "/env.yml")
        let result = try await CLI.run(["validate", dir + "/env.yml"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("\(dir)/env.yml:5:39: error: 'vars.user' of host 'here' holds the template '{{ env.USER }}'"), "\(result.stderr)")
    }

    @Test("show in text prints each step's last output lines; --lines chooses how many; json keeps all")
    func showPrintsOutput() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = CLI.localEnvironment(dir, name: "show-output")
        CLI.write("""
        version: 1
        runbook: chatty
        steps:
          - shell: "for i in 1 2 3 4 5 6 7; do echo line $i; done; echo oops >&2"
        """, to: dir + "/runbook.yml")
        let run = try await CLI.run(["run", dir + "/runbook.yml", "-e", env, "--state", dir + "/state"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let text = try await CLI.run(["show", "last", "--state", dir + "/state"])
        #expect(text.status == 0)
        let lines = text.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains("| … 2 earlier lines (marshal show --output json for all)"), "\(text.stdout)")
        #expect(lines.contains("| line 3") && lines.contains("| line 7") && !lines.contains("| line 2"), "\(text.stdout)")
        #expect(lines.contains("! oops"), "\(text.stdout)")
        let two = try await CLI.run(["show", "last", "--state", dir + "/state", "--lines", "2"])
        #expect(two.stdout.contains("| line 6\n") && !two.stdout.contains("| line 5\n"), "\(two.stdout)")
        let none = try await CLI.run(["show", "last", "--state", dir + "/state", "--lines", "0"])
        #expect(!none.stdout.contains("| line"))
    }

    @Test("runs --limit 0 is refused (it listed nothing and said 'no runs recorded' of a journal that holds runs)")
    func runsLimitZero() async throws {
        let result = try await CLI.run(["runs", "--limit", "0", "--state", CLI.temporaryDirectory()])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("Error: --limit must be at least 1, got 0"), "\(result.stderr)")
    }
}
