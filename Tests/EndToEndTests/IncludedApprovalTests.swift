import Foundation
import MarshalTestSupport
import Testing

/// A step of an included runbook is a step of the run: an approve step there pauses the run, and the
/// `--approve` that the pause asks for is accepted.
@Suite("Approve steps inside included runbooks")
struct IncludedApprovalTests {
    static let included = """
        version: 1
        runbook: gated
        steps:
          - id: go
            approve: { message: "ship it?" }
          - shell: "echo shipped >> {{ host.vars.dir }}/log"
        """

    static let outer = """
        version: 1
        runbook: outer
        steps:
          - include: gated
        """

    @Test("a run paused at an included approve step resumes with the --approve it asks for (it refused: 'has no approve step of that id'), and run --approve names it up front")
    func resumeWithTheApprovalAskedFor() async throws {
        try await CLI.inLocalProject { dir, env in
            CLI.write(Self.included, to: dir + "/gated.yml")
            CLI.write(Self.outer, to: dir + "/outer.yml")
            let state = dir + "/state"

            let paused = try await CLI.run(["run", dir + "/outer.yml", "-e", env, "--state", state])
            #expect(paused.stdout.contains("--approve 'go'"), "\(paused.stdout)\(paused.stderr)")
            #expect(try await ShownRun.load("last", state: state).run.status == "paused")
            let resumed = try await CLI.run(["resume", "last", "-e", env, "--state", state, "--approve", "go"])
            #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
            #expect(try String(contentsOfFile: dir + "/log", encoding: .utf8) == "shipped\n")

            let approvedAtStart = try await CLI.run(["run", dir + "/outer.yml", "-e", env, "--state", state, "--approve", "go"])
            #expect(approvedAtStart.status == 0, "\(approvedAtStart.stdout)\(approvedAtStart.stderr)")
            #expect(try String(contentsOfFile: dir + "/log", encoding: .utf8) == "shipped\nshipped\n")

            let misspelt = try await CLI.run(["run", dir + "/outer.yml", "-e", env, "--state", state, "--approve", "goo"])
            #expect(misspelt.status == 2)
            #expect(misspelt.stderr.contains("--approve goo: runbook 'outer' has no approve step (or gate with on_no_data: pause) of that id or name (did you mean 'go'?)"),
                    "\(misspelt.stderr)")
        }
    }

    @Test("resume and rollback expand includes whose params name vars and secrets, as the run did (both stopped: 'undefined name secrets.token')")
    func paramsFromVarsAndSecrets() async throws {
        try await CLI.inLocalProject { dir, env in
            CLI.write("token-value\n", to: dir + "/token")
            // Include params render once, before any host: an environment var, not a host's.
            CLI.write((try String(contentsOfFile: env, encoding: .utf8)) + "\nvars:\n  log_dir: \(dir)\nsecrets:\n  token: { file: \(dir)/token }\n", to: env)
            CLI.write("""
                version: 1
                runbook: gated
                params:
                  where: { type: string, required: true }
                  token: { type: string, required: true }
                steps:
                  - id: go
                    approve: { message: "ship it?" }
                  - shell: "printf '%s\\n' shipped-{{ params.token }} >> {{ params.where }}/log"
                    undo: { shell: "printf '%s\\n' undone-{{ params.token }} >> {{ params.where }}/log" }
                """, to: dir + "/gated.yml")
            CLI.write("""
                version: 1
                runbook: outer
                steps:
                  - include: { runbook: gated, params: { where: "{{ vars.log_dir }}", token: "{{ secrets.token }}" } }
                """, to: dir + "/outer.yml")
            let state = dir + "/state"
            let paused = try await CLI.run(["run", dir + "/outer.yml", "-e", env, "--state", state])
            #expect(try await ShownRun.load("last", state: state).run.status == "paused", "\(paused.stdout)\(paused.stderr)")
            let resumed = try await CLI.run(["resume", "last", "-e", env, "--state", state, "--approve", "go"])
            #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
            let plan = try await CLI.run(["rollback", "-e", env, "--state", state, "--plan"])
            #expect(plan.status == 0 && plan.stdout.contains("undo"), "\(plan.stdout)\(plan.stderr)")
            let rollback = try await CLI.run(["rollback", "-e", env, "--state", state])
            #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
            #expect(try String(contentsOfFile: dir + "/log", encoding: .utf8) == "shipped-token-value\nundone-token-value\n")
            #expect(!resumed.stdout.contains("token-value") && !rollback.stdout.contains("token-value"))

            // A name that is not there is reported once at its place (it printed "FILE:4:42: error: FILE:4:42: error: …").
            CLI.write("""
                version: 1
                runbook: typo
                steps:
                  - include: { runbook: gated, params: { where: "{{ vars.log_dri }}", token: "{{ secrets.token }}" } }
                """, to: dir + "/typo.yml")
            let typo = try await CLI.run(["run", dir + "/typo.yml", "-e", env, "--state", state])
            #expect(typo.status == 2)
            #expect(typo.stderr.components(separatedBy: "error:").count == 2 && typo.stderr.contains("typo.yml:4:42: error: undefined name 'vars.log_dri' (did you mean 'vars.log_dir'?)"),
                    "\(typo.stderr)")
        }
    }
}
