import Foundation
import MarshalTestSupport
import Testing

/// A runbook's `rollback:` list is checked and run like its steps: what `validate` passes, the
/// rollback can run, including an `include` of shared undo steps, from any machine.
@Suite("Rollback list: checked and run like the steps")
struct RollbackListTests {
    /// `dir/Runbooks/undo-part.yml` (one step that logs) and `dir/Runbooks/NAME.yml` whose rollback
    /// list includes it, then logs `after`; `failing` adds a step that fails.
    static func project(_ dir: String, name: String, failing: Bool) throws {
        try FileManager.default.createDirectory(atPath: dir + "/Runbooks", withIntermediateDirectories: true)
        CLI.write("""
        version: 1
        runbook: undo-part
        steps:
          - shell: "echo undo-part {{ host.name }} >> {{ host.vars.dir }}/log"
        """, to: dir + "/Runbooks/undo-part.yml")
        CLI.write("""
        version: 1
        runbook: \(name)
        on_failure: rollback
        steps:
          - shell: "echo forward >> {{ host.vars.dir }}/log"
        \(failing ? "  - shell: \"false\"" : "")
        rollback:
          - include: undo-part
          - shell: "echo after >> {{ host.vars.dir }}/log"
        """, to: dir + "/Runbooks/\(name).yml")
    }

    static func log(_ dir: String) -> [String] {
        ((try? String(contentsOfFile: dir + "/log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test("an include in the rollback list runs its steps in place, in order, when a run fails (it failed with 'an include step must be expanded before it runs')")
    func includeRunsOnFailure() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = CLI.localEnvironment(dir, name: "lab")
        try Self.project(dir, name: "failing", failing: true)
        let run = try await CLI.run(["run", dir + "/Runbooks/failing.yml", "-e", env, "--state", dir + "/state"])
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect(Self.log(dir) == ["forward", "undo-part here", "after"], "\(run.stdout)\(run.stderr)")
        let shown = try await ShownRun.load("last", state: dir + "/state")
        #expect(shown.run.status == "rolled_back")
    }

    @Test("marshal rollback of a good run lists and runs the included undo steps, from the journal's copy when the file is gone")
    func includeRunsOnRollback() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = CLI.localEnvironment(dir, name: "lab")
        try Self.project(dir, name: "good", failing: false)
        let run = try await CLI.run(["run", dir + "/Runbooks/good.yml", "-e", env, "--state", dir + "/state"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        // Another operator's machine has the runbook but not the included file: the run journaled it.
        try FileManager.default.removeItem(atPath: dir + "/Runbooks/undo-part.yml")
        let plan = try await CLI.run(["rollback", "-e", env, "--state", dir + "/state", "--plan"])
        #expect(plan.status == 0, "\(plan.stdout)\(plan.stderr)")
        let listed = plan.stdout.split(separator: "\n").filter { $0.hasPrefix("  ") }.map { $0.trimmingCharacters(in: .whitespaces) }
        // Steps are listed by name, as written: the plan does not render them for each host.
        #expect(listed == ["1. echo undo-part {{ host.name }} >> {{ host.vars.dir }}/log (shell)",
                           "2. echo after >> {{ host.vars.dir }}/log (shell)"], "\(plan.stdout)")
        let rollback = try await CLI.run(["rollback", "-e", env, "--state", dir + "/state"])
        #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
        #expect(Self.log(dir) == ["forward", "undo-part here", "after"])
    }

    @Test("validate gives rollback: steps the checks steps get: unique ids, a soak gate's host, a benchmark's host, an included file")
    func checkedLikeSteps() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = CLI.localEnvironment(dir, name: "lab")
        CLI.write("""
        version: 1
        runbook: r
        steps:
          - id: a
            shell: "true"
        rollback:
          - id: a
            soak:
              duration: 2s
              interval: 1s
              gates:
                - probe: { command: "true" }
          - benchmark: { base_url: "http://{{ host.address }}:1/", connections: 1, duration: 1s, scenarios: [{ get: /, weight: 1 }] }
          - include: nothere
        """, to: dir + "/r.yml")
        let validate = try await CLI.run(["validate", dir + "/r.yml", "-e", env])
        #expect(validate.status == 2)
        #expect(validate.stderr.split(separator: "\n").map(String.init) == [
            "\(dir)/r.yml:7:5: error: duplicate step id 'a'; it is already used at line 4",
            "\(dir)/r.yml:12:11: error: soak gate 'probe' (probe) runs a command on a host, and this soak runs from this machine: give the gate (or the soak) 'on:', a host or role",
            "\(dir)/r.yml:13:36: error: 'host.address': a benchmark runs once per batch from this machine, so there is no host here; to load each host of the batch, add 'targets: batch' (and 'compare: stable' to load hosts not yet updated at the same time)",
            "\(dir)/r.yml:14:14: error: included runbook 'nothere' not found (looked for \(dir)/nothere)",
            "4 errors in 1 of 1 file",
        ], "\(validate.stderr)")
    }

    @Test("rollback of a run whose steps include a runbook undoes them from the journal's copy when the file is gone (it said 'included runbook not found')")
    func includedStepsUndoneFromJournal() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = CLI.localEnvironment(dir, name: "lab")
        try FileManager.default.createDirectory(atPath: dir + "/Runbooks", withIntermediateDirectories: true)
        CLI.write("""
        version: 1
        runbook: part
        steps:
          - shell: "echo part >> {{ host.vars.dir }}/log"
            undo: { shell: "echo undo-part >> {{ host.vars.dir }}/log" }
        """, to: dir + "/Runbooks/part.yml")
        CLI.write("""
        version: 1
        runbook: outer
        steps:
          - include: part
        """, to: dir + "/Runbooks/outer.yml")
        let run = try await CLI.run(["run", dir + "/Runbooks/outer.yml", "-e", env, "--state", dir + "/state"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        try FileManager.default.removeItem(atPath: dir + "/Runbooks/part.yml")
        let rollback = try await CLI.run(["rollback", "-e", env, "--state", dir + "/state"])
        #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
        #expect(Self.log(dir) == ["part", "undo-part"])
    }
}
