import Foundation
import MarshalTestSupport
import Testing

/// Includes that include each other never end: the cycle is an error at the include that closes
/// it, with the runbooks in order, before anything runs. What an include cannot honour is refused too.
@Suite("Include cycles and keys")
struct IncludeCycleTests {
    @Test("validate, plan and run name an include cycle at the include that closes it, at its file:line:column (they said 'include: error: …: includes nest more than 8 deep')")
    func cycleNamed() async throws {
        try await CLI.inLocalProject { dir, env in
            CLI.write("version: 1\nrunbook: first\nsteps:\n  - include: second\n", to: dir + "/first.yml")
            CLI.write("version: 1\nrunbook: second\nsteps:\n  - shell: \"true\"\n  - include: first\n", to: dir + "/second.yml")
            let expected = "\(dir)/second.yml:5:14: error: runbook 'first' includes itself through first → second → first: the steps would never end"
            for command in [["validate", dir + "/first.yml"], ["plan", dir + "/first.yml"], ["run", dir + "/first.yml", "--state", dir + "/state"]] {
                let result = try await CLI.run(command + ["-e", env])
                #expect(result.status == 2, "\(command[0]): \(result.stdout)\(result.stderr)")
                #expect(result.stderr.split(separator: "\n").first.map(String.init) == expected, "\(command[0]): \(result.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: dir + "/state/journal.sqlite"), "the run was refused before it opened the journal")
        }
    }

    @Test("id, when, on, retries on an include are refused at their place (they were dropped without a word: a when-guarded include ran anyway; steps.ID of an include passed validate and failed the run)")
    func stepKeysRefused() async throws {
        try await CLI.inLocalProject { dir, env in
            CLI.write("version: 1\nrunbook: part\nsteps:\n  - shell: \"echo ran >> {{ host.vars.dir }}/log\"\n", to: dir + "/part.yml")
            CLI.write("""
            version: 1
            runbook: guarded
            params:
              migrate: { type: bool, default: false }
            steps:
              - include: part
                when: "params.migrate == true"
              - id: twice
                include: part
                on: here
                retries: 2
            """, to: dir + "/guarded.yml")
            CLI.write("version: 1\nrunbook: placed\nsteps:\n  - include: { runbook: part, on: here }\n", to: dir + "/placed.yml")
            let result = try await CLI.run(["run", dir + "/guarded.yml", "-e", env, "--state", dir + "/state"])
            #expect(result.status == 2)
            let lines = result.stderr.split(separator: "\n").map(String.init)
            #expect(lines.contains("\(dir)/guarded.yml:7:12: error: an include takes no 'when': it is replaced by the steps of 'part', which run as they are written; put it on those steps (a condition can test a param the include passes)"), "\(result.stderr)")
            #expect(lines.contains("\(dir)/guarded.yml:8:5: error: an include takes no 'id', 'on', 'retries': it is replaced by the steps of 'part', which run as they are written; put them on those steps"), "\(result.stderr)")
            let placed = try await CLI.run(["validate", dir + "/placed.yml", "-e", env])
            #expect(placed.status == 2)
            #expect(placed.stderr.hasPrefix("\(dir)/placed.yml:4:31: error: unknown key 'on' in 'include'; expected one of: params, runbook"), "\(placed.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/log"), "an included step ran")
        }
    }

    @Test("an included runbook's targets, preflight, rollback list and on_failure, which an include does not use, are named in a warning (nothing said so: a targets: db runbook's steps ran on the including run's hosts)")
    func unusedPartsWarned() async throws {
        try await CLI.inLocalProject { dir, env in
            CLI.write("""
            version: 1
            runbook: db-part
            targets: db
            on_failure: rollback
            preflight:
              - shell: "true"
            steps:
              - shell: "echo ran >> {{ host.vars.dir }}/log"
            rollback:
              - shell: "true"
            """, to: dir + "/db-part.yml")
            CLI.write("version: 1\nrunbook: outer\nsteps:\n  - include: db-part\n", to: dir + "/outer.yml")
            let result = try await CLI.run(["validate", dir + "/outer.yml", "-e", env])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(result.stderr == "\(dir)/outer.yml:4:14: warning: included runbook 'db-part' has targets: db, a preflight: list, a rollback: list, on_failure, which an include does not use: its steps run in this run's batches, on their hosts (a step's on: places it elsewhere)\n",
                    "\(result.stderr)")
        }
    }

    @Test("a step's evidence in include params is refused (the params render before any step runs: the included step got the text '{{ steps.ship.stdout }}')")
    func evidenceNotInIncludeParams() async throws {
        try await CLI.inLocalProject { dir, env in
            CLI.write("""
            version: 1
            runbook: part
            params:
              prev: { type: string, required: true }
            steps:
              - shell: "printf '%s\\n' got:{{ params.prev }} >> {{ host.vars.dir }}/log"
            """, to: dir + "/part.yml")
            CLI.write("""
            version: 1
            runbook: passes
            steps:
              - id: ship
                shell: "echo v1"
              - include: { runbook: part, params: { prev: "{{ steps.ship.stdout }}" } }
            """, to: dir + "/passes.yml")
            let refused = try await CLI.run(["run", dir + "/passes.yml", "-e", env, "--state", dir + "/state"])
            #expect(refused.status == 2)
            #expect(refused.stderr.hasPrefix("\(dir)/passes.yml:6:41: error: include params are rendered once, before any step runs, when 'steps.ship.stdout' has no value: a step's evidence cannot be passed to an included runbook"),
                    "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/log"), "a step ran")
        }
    }
}
