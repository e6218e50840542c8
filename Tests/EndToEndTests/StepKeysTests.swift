import Foundation
import Testing

/// The common step keys and `include`, on this machine (`transport: local`).
@Suite("Common step keys")
struct StepKeysTests {
    func environment(_ dir: String) -> String { CLI.localEnvironment(dir, name: "keys") }

    @Test("when skips, retries/until try again, register and steps.<id> carry evidence, ignore_failure goes on, include runs another runbook's steps with its params")
    func keys() async throws {
        let dir = CLI.temporaryDirectory()
        CLI.write("""
        version: 1
        runbook: child
        params:
          greeting: { type: string, required: true }
        targets: all
        steps:
          - name: greet
            shell: "echo {{ params.greeting }} >> {{ host.vars.dir }}/log"
        """, to: dir + "/child.yml")
        CLI.write("""
        version: 1
        runbook: keys
        params:
          mode: { type: string, default: fast }
        targets: all
        steps:
          - name: never
            shell: "echo never >> {{ host.vars.dir }}/log"
            when: 'params.mode == "slow"'
          - id: count
            name: count up
            shell: "echo x >> {{ host.vars.dir }}/tries; wc -l < {{ host.vars.dir }}/tries"
            retries: 5
            delay: 100ms
            until: "number(stdout) >= 3"
          - name: use evidence
            shell: "echo tries={{ steps.count.stdout_lines.0 }} >> {{ host.vars.dir }}/log"
          - name: may fail
            shell: "exit 4"
            ignore_failure: true
          - include: { runbook: child.yml, params: { greeting: "hello {{ params.mode }}" } }
        """, to: dir + "/keys.yml")
        let result = try await CLI.run(["run", dir + "/keys.yml", "-e", environment(dir), "--state", dir + "/state"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("1. never: skipped"))
        #expect(result.stdout.contains("2. count up: succeeded") && result.stdout.contains("after 3 attempts"))
        #expect(result.stdout.contains("4. may fail: ignored_failure"))
        let log = (try? String(contentsOfFile: dir + "/log", encoding: .utf8)) ?? ""
        #expect(log == "tries=3\nhello fast\n", "\(log)")
    }

    @Test("an include naming a missing runbook is an error before anything runs")
    func missingInclude() async throws {
        let dir = CLI.temporaryDirectory()
        CLI.write("""
        version: 1
        runbook: broken
        targets: all
        steps:
          - shell: "touch {{ host.vars.dir }}/ran"
          - include: nowhere.yml
        """, to: dir + "/broken.yml")
        let result = try await CLI.run(["run", dir + "/broken.yml", "-e", environment(dir), "--state", dir + "/state"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("included runbook 'nowhere.yml' not found"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/ran"))
    }
}
