import Foundation
import MarshalTestSupport
import Testing

/// What runs after a failure is checked and run like the steps: a `rollback:` list (with an
/// `include` of shared undo steps, from any machine) and an `on_failure: { run: }` runbook. What
/// `validate` passes, the rollback can run.
@Suite("Rollback lists and on_failure runbooks: checked and run like the steps")
struct RollbackListTests {
    /// `dir/Runbooks/undo-part.yml` (one step that logs) and `dir/Runbooks/NAME.yml` whose rollback
    /// list includes it, then logs `after`; `failing` adds a step that fails.
    static func project(_ dir: String, name: String, failing: Bool) {
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
        try await CLI.inLocalProject { dir, env in
            Self.project(dir, name: "failing", failing: true)
            let run = try await CLI.run(["run", dir + "/Runbooks/failing.yml", "-e", env, "--state", dir + "/state"])
            #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
            #expect(Self.log(dir) == ["forward", "undo-part here", "after"], "\(run.stdout)\(run.stderr)")
            let shown = try await ShownRun.load("last", state: dir + "/state")
            #expect(shown.run.status == "rolled_back")
        }
    }

    @Test("marshal rollback of a good run lists and runs the included undo steps, from the journal's copy when the file is gone")
    func includeRunsOnRollback() async throws {
        try await CLI.inLocalProject { dir, env in
            Self.project(dir, name: "good", failing: false)
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
    }

    @Test("validate gives rollback: steps and undo steps the checks steps get: unique ids, a soak gate's host, a benchmark's host, an included file; an undo that is an include, which can never run, is refused")
    func checkedLikeSteps() async throws {
        try await CLI.inLocalProject { dir, env in
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
              - shell: "true"
                undo: { include: nothere }
              - shell: "true"
                undo: { benchmark: { base_url: "http://{{ host.address }}:1/", connections: 1, duration: 1s, scenarios: [{ get: /, weight: 1 }] } }
            """, to: dir + "/r.yml")
            let validate = try await CLI.run(["validate", dir + "/r.yml", "-e", env])
            #expect(validate.status == 2)
            #expect(validate.stderr.split(separator: "\n").map(String.init) == [
                "\(dir)/r.yml:7:5: error: duplicate step id 'a'; it is already used at line 4",
                "\(dir)/r.yml:12:11: error: soak gate 'probe' (probe) runs a command on a host, and this soak runs from this machine: give the gate (or the soak) 'on:', a host or role",
                "\(dir)/r.yml:13:36: error: 'host.address': a benchmark runs once per batch from this machine, so there is no host here; to load each host of the batch, add 'targets: batch' (and 'compare: stable' to load hosts not yet updated at the same time)",
                "\(dir)/r.yml:14:14: error: included runbook 'nothere' not found (looked for \(dir)/nothere)",
                "\(dir)/r.yml:16:11: error: an undo cannot be an include: it is one step, run where this step completed; put shared undo steps in the runbook's rollback: list (which may include them)",
                "\(dir)/r.yml:18:44: error: 'host.address': a benchmark runs once per batch from this machine, so there is no host here; to load each host of the batch, add 'targets: batch' (and 'compare: stable' to load hosts not yet updated at the same time)",
                "6 errors in 1 of 1 file",
            ], "\(validate.stderr)")
        }
    }

    @Test("rollback of a run whose steps include a runbook undoes them from the journal's copy when the file is gone (it said 'included runbook not found')")
    func includedStepsUndoneFromJournal() async throws {
        try await CLI.inLocalProject { dir, env in
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

    @Test("validate checks the runbooks a runbook calls: an on_failure runbook that is missing, a misspelt name in its params, include params it does not declare or lacks (each was found only when it ran)")
    func calledRunbooksChecked() async throws {
        try await CLI.inLocalProject { dir, env in
            CLI.write("""
            version: 1
            runbook: part
            params:
              release: { type: string, required: true }
            steps:
              - shell: "echo {{ params.release }}"
            """, to: dir + "/part.yml")
            CLI.write("""
            version: 1
            runbook: caller
            on_failure: { run: cleanup, params: { why: "{{ failed_run.reason }}" } }
            steps:
              - include: { runbook: part, params: { relase: v2 } }
            """, to: dir + "/caller.yml")
            let validate = try await CLI.run(["validate", dir + "/caller.yml", "-e", env])
            #expect(validate.status == 2)
            #expect(validate.stderr.split(separator: "\n").map(String.init) == [
                "\(dir)/caller.yml:3:20: error: on_failure runbook 'cleanup' not found (looked for \(dir)/cleanup)",
                // A param's value is placed at its key.
                "\(dir)/caller.yml:3:39: error: undefined name 'failed_run.reason': failed_run has id, runbook, summary (set in a runbook's rollback: steps and in on_failure: { run: } params)",
                "\(dir)/caller.yml:5:14: error: included runbook 'part' requires param 'release' (declared at \(dir)/part.yml:4:3); give it in params",
                "\(dir)/caller.yml:5:41: error: included runbook 'part' has no param 'relase' (did you mean 'release'?); it declares: release",
                "4 errors in 1 of 1 file",
            ], "\(validate.stderr)")

            // What would stop the on_failure runbook or the rollback list after the failure stops
            // the run before it (validate passed both; each failed only once the run had failed).
            CLI.write("version: 1\nrunbook: broken\nsteps:\n  - shell: { command: \"true\", bogus: 1 }\n", to: dir + "/broken.yml")
            CLI.write("version: 1\nrunbook: calls-broken\non_failure: { run: broken }\nsteps:\n  - shell: \"echo ran >> {{ host.vars.dir }}/log\"\n",
                      to: dir + "/calls-broken.yml")
            CLI.write("version: 1\nrunbook: again\non_failure: { run: again }\nsteps:\n  - shell: \"echo ran >> {{ host.vars.dir }}/log\"\n",
                      to: dir + "/again.yml")
            CLI.write("version: 1\nrunbook: loops\nsteps:\n  - include: back\n", to: dir + "/loops.yml")
            CLI.write("version: 1\nrunbook: back\nsteps:\n  - include: loops\n", to: dir + "/back.yml")
            CLI.write("""
            version: 1
            runbook: list-loops
            on_failure: rollback
            steps:
              - shell: "echo ran >> {{ host.vars.dir }}/log"
            rollback:
              - include: loops
            """, to: dir + "/list-loops.yml")
            let expected = [
                "calls-broken": "\(dir)/calls-broken.yml:3:20: error: on_failure runbook broken cannot be loaded: \(dir)/broken.yml:4:31: error: unknown key 'bogus' in 'shell'; expected one of: chdir, command, on",
                "again": "\(dir)/again.yml:3:20: error: runbook 'again' includes itself through again → again: the steps would never end",
                "list-loops": "\(dir)/back.yml:4:14: error: runbook 'loops' includes itself through loops → back → loops: the steps would never end",
            ]
            for (name, error) in expected {
                for command in [["validate", dir + "/\(name).yml"], ["run", dir + "/\(name).yml", "--state", dir + "/state"]] {
                    let result = try await CLI.run(command + ["-e", env])
                    #expect(result.status == 2, "\(name) \(command[0]): \(result.stdout)\(result.stderr)")
                    #expect(result.stderr.split(separator: "\n").first.map(String.init) == error, "\(name) \(command[0]): \(result.stderr)")
                }
            }
            #expect(!FileManager.default.fileExists(atPath: dir + "/log"), "a run started")
        }
    }

    @Test("Marshal killed inside an on_failure runbook: resume on a machine without that file finishes it from the journal (it said 'cannot read file')")
    func failureRunbookResumedFromJournal() async throws {
        try await CLI.inLocalProject { dir, env in
            CLI.write("""
            version: 1
            runbook: cleanup
            steps:
              - id: c1
                shell: "echo cleanup1 >> {{ host.vars.dir }}/log"
              - id: c2
                shell: "echo cleanup2 >> {{ host.vars.dir }}/log"
            """, to: dir + "/Runbooks/cleanup.yml")
            CLI.write("""
            version: 1
            runbook: failing
            on_failure: { run: cleanup }
            steps:
              - shell: "false"
            """, to: dir + "/Runbooks/failing.yml")
            let killed = try await CLI.run(["run", dir + "/Runbooks/failing.yml", "-e", env, "--state", dir + "/state"],
                                           environment: ["MARSHAL_TEST_CRASH_AT": "undo:started:c2@here"])
            #expect(killed.status != 0 && killed.status != 1, "marshal was killed: \(killed.stdout)\(killed.stderr)")
            #expect(Self.log(dir) == ["cleanup1"])
            try FileManager.default.removeItem(atPath: dir + "/Runbooks/cleanup.yml")
            let resumed = try await CLI.run(["resume", "last", "-e", env, "--state", dir + "/state"])
            #expect(resumed.status == 1, "\(resumed.stdout)\(resumed.stderr)")  // the run failed, and its on_failure runbook ran
            #expect(Self.log(dir) == ["cleanup1", "cleanup2"], "\(resumed.stdout)\(resumed.stderr)")
            let shown = try await ShownRun.load("last", state: dir + "/state")
            #expect(shown.run.status == "rolled_back")
        }
    }

    @Test("a rollback that failed is not shown as succeeded: show and the report say the rollback 'began' and list the failed undo with what failed (both said 'rollback … succeeded')")
    func failedRollbackNeverShownSucceeded() async throws {
        try await CLI.inLocalProject { dir, env in
            CLI.write("""
            version: 1
            runbook: r
            on_failure: rollback
            steps:
              - shell: "false"
            rollback:
              - name: put back
                shell: "exit 3"
            """, to: dir + "/Runbooks/r.yml")
            let state = dir + "/state"
            let run = try await CLI.run(["run", dir + "/Runbooks/r.yml", "-e", env, "--state", state])
            #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
            let show = try await CLI.run(["show", "last", "--state", state])
            let undoLines = show.stdout.split(separator: "\n").filter { $0.contains("[undo]") }.map(String.init)
            #expect(undoLines.count == 2, "\(show.stdout)")
            #expect(undoLines.first == "  #2 [undo] local: rollback — began", "\(show.stdout)")
            #expect(undoLines.last?.hasPrefix("  #3 [undo] here: rollback: put back — failed (") == true, "\(show.stdout)")
            let report = try await CLI.run(["report", "last", "--state", state, "-o", dir + "/report.md"])
            #expect(report.status == 0, "\(report.stdout)\(report.stderr)")
            let text = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
            #expect(!text.contains("succeeded — "), "\(text)")
            #expect(text.contains("- ↩️ rollback began: "), "\(text)")
            #expect(text.contains("- ❌ rollback: put back on here: failed — exit status 3"), "\(text)")
            #expect(text.contains("| 2 | undo | — | this machine | rollback | began |"), "\(text)")
        }
    }

    /// Runs `runbook` (it fails), and returns its id, the commands its journal holds (in order) and
    /// `plan --as-run ID --output json` for the same params.
    static func failedRunAndItsPlan(_ runbook: String, env: String, dir: String,
                                    release: String) async throws -> (String, [String], [String: Any]) {
        let run = try await CLI.run(["run", runbook, "-e", env, "-p", "release=\(release)", "--state", dir + "/state"])
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        let shown = try await CLI.run(["show", "last", "--state", dir + "/state", "--output", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        let runId = try #require((document["run"] as? [String: Any])?["id"] as? String)
        let journaled = ((document["steps"] as? [[String: Any]]) ?? []).compactMap { $0["command"] as? String }
        let asRun = try await CLI.run(["plan", runbook, "-e", env, "-p", "release=\(release)", "--as-run", runId, "--output", "json"])
        return (runId, journaled, try #require(try JSONSerialization.jsonObject(with: Data(asRun.stdout.utf8)) as? [String: Any]))
    }

    /// The commands of a plan's list of planned steps, in order.
    static func commands(_ steps: Any?) -> [String] {
        ((steps as? [[String: Any]]) ?? []).flatMap { ($0["actions"] as? [[String: Any]]) ?? [] }.compactMap { $0["command"] as? String }
    }

    @Test("plan shows the rollback: list with each host's commands (includes expanded, failed_run filled where the plan knows it): byte for byte what a failed run journals (plan printed no rollback list)")
    func planShowsRollbackList() async throws {
        try await CLI.inLocalProject { dir, env in
            CLI.write("""
            version: 1
            runbook: undo-part
            params:
              tag: { type: string, required: true }
            steps:
              - shell: "echo undo-part {{ params.tag }} {{ host.name }} >> {{ host.vars.dir }}/log"
            """, to: dir + "/Runbooks/undo-part.yml")
            CLI.write("""
            version: 1
            runbook: failing
            params:
              release: { type: string, required: true }
            on_failure: rollback
            steps:
              - shell: "echo forward {{ params.release }} >> {{ host.vars.dir }}/log"
              - shell: "false"
            rollback:
              - include: { runbook: undo-part, params: { tag: "{{ params.release }}" } }
              - shell: "echo after {{ failed_run.runbook }} {{ failed_run.id }} >> {{ host.vars.dir }}/log"
              - shell: "echo why {{ failed_run.summary }} >> {{ host.vars.dir }}/log"
            """, to: dir + "/Runbooks/failing.yml")
            let runbook = dir + "/Runbooks/failing.yml"
            let printed = try await CLI.run(["plan", runbook, "-e", env, "-p", "release=v7"])
            #expect(printed.status == 0, "\(printed.stdout)\(printed.stderr)")
            let section = printed.stdout.components(separatedBy: "Rollback list").last ?? ""
            #expect(printed.stdout.contains("Rollback list"), "\(printed.stdout)")
            #expect(section.contains("here: echo undo-part v7 here >> \(dir)/log"), "\(printed.stdout)")
            // Before the run: its id and the failure's summary are references.
            #expect(section.contains("here: echo after failing {{ failed_run.id }} >> \(dir)/log"), "\(printed.stdout)")
            #expect(section.contains("here: echo why {{ failed_run.summary }} >> \(dir)/log"), "\(printed.stdout)")

            let (runId, journaled, plan) = try await Self.failedRunAndItsPlan(runbook, env: env, dir: dir, release: "v7")
            #expect(journaled.count == 5, "\(journaled)")
            let commands = Self.commands
            let planned = ((plan["batches"] as? [[String: Any]]) ?? []).flatMap { commands($0["steps"]) } + commands(plan["rollback"])
            // Every command but the one naming the failure's summary, which only the failure knows.
            for command in journaled where !command.hasPrefix("echo why") {
                #expect(planned.contains(command), "journaled but not planned: \(command)\nplanned: \(planned)")
            }
            #expect(commands(plan["rollback"]) == ["echo undo-part v7 here >> \(dir)/log", "echo after failing \(runId) >> \(dir)/log",
                                                   "echo why {{ failed_run.summary }} >> \(dir)/log"])
        }
    }

    @Test("plan shows the on_failure runbook's steps with their commands on its targets: byte for byte what the failed run journals (plan said only 'on failure: run NAME')")
    func planShowsFailureRunbook() async throws {
        try await CLI.inLocalProject { dir, env in
            CLI.write("""
            version: 1
            runbook: repair
            params:
              failed: { type: string, required: true }
              release: { type: string, required: true }
            steps:
              - shell: "echo repairing {{ params.release }} after {{ params.failed }} on {{ host.name }} >> {{ host.vars.dir }}/log"
            """, to: dir + "/Runbooks/repair.yml")
            CLI.write("""
            version: 1
            runbook: failing
            params:
              release: { type: string, required: true }
            on_failure: { run: repair, params: { failed: "{{ failed_run.id }}", release: "{{ params.release }}" } }
            steps:
              - shell: "false"
            """, to: dir + "/Runbooks/failing.yml")
            let runbook = dir + "/Runbooks/failing.yml"
            let printed = try await CLI.run(["plan", runbook, "-e", env, "-p", "release=v9"])
            #expect(printed.status == 0, "\(printed.stdout)\(printed.stderr)")
            let section = printed.stdout.components(separatedBy: "On failure (run repair").last ?? ""
            #expect(section.contains("here: echo repairing v9 after '{{ failed_run.id }}' on here >> \(dir)/log"), "\(printed.stdout)")

            let (runId, journaled, plan) = try await Self.failedRunAndItsPlan(runbook, env: env, dir: dir, release: "v9")
            #expect(journaled == ["false", "echo repairing v9 after \(runId) on here >> \(dir)/log"], "\(journaled)")
            let planned = ((plan["onFailureRun"] as? [[String: Any]]) ?? []).flatMap { ($0["actions"] as? [[String: Any]]) ?? [] }
            #expect(planned.map { $0["host"] as? String } == ["here"])
            #expect(Self.commands(plan["onFailureRun"]) == [journaled[1]])
        }
    }

    @Test("a step that pauses for approval is refused in a rollback list, an undo and an on_failure runbook (the rollback journaled it 'paused' and went on to the next undo without it)")
    func noPauseInRollback() async throws {
        try await CLI.inLocalProject { dir, env in
            CLI.write("version: 1\nrunbook: asks\nsteps:\n  - approve: { message: \"sure?\" }\n", to: dir + "/asks.yml")
            CLI.write("""
            version: 1
            runbook: pausing
            on_failure: { run: asks }
            steps:
              - shell: "true"
                undo: { approve: { message: "undo?" } }
            rollback:
              - probe: { command: "echo", regex: "(\\\\d+)", expect: "value > 0", on_no_data: pause }
            """, to: dir + "/pausing.yml")
            let result = try await CLI.run(["validate", dir + "/pausing.yml", "-e", env])
            #expect(result.status == 2)
            let advice = "a rollback does not stop to wait for approval; to decide before undoing, use on_failure: stop and run `marshal rollback` by hand"
            #expect(result.stderr.split(separator: "\n").map(String.init) == [
                "\(dir)/pausing.yml:3:20: error: on_failure runbook 'asks': \(dir)/asks.yml:4:5: an approve step cannot stand in a runbook run by on_failure: \(advice)",
                "\(dir)/pausing.yml:6:11: error: an approve step cannot stand in an undo: \(advice)",
                "\(dir)/pausing.yml:8:5: error: a probe gate with on_no_data: pause cannot stand in a runbook's rollback: list: \(advice)",
                "3 errors in 1 of 1 file",
            ], "\(result.stderr)")
            // Through an include: in the rollback list, and in a runbook on_failure runs.
            CLI.write("version: 1\nrunbook: wrap\nsteps:\n  - include: asks\n", to: dir + "/wrap.yml")
            CLI.write("version: 1\nrunbook: via-list\non_failure: rollback\nsteps:\n  - shell: \"true\"\nrollback:\n  - include: asks\n",
                      to: dir + "/via-list.yml")
            CLI.write("version: 1\nrunbook: via-run\non_failure: { run: wrap }\nsteps:\n  - shell: \"true\"\n", to: dir + "/via-run.yml")
            for (name, place) in [("via-list", "a runbook's rollback: list"), ("via-run", "a runbook run by on_failure")] {
                let through = try await CLI.run(["run", dir + "/\(name).yml", "-e", env, "--state", dir + "/state"])
                #expect(through.status == 2)
                #expect(through.stderr.hasPrefix("\(dir)/asks.yml:4:5: error: an approve step cannot stand in \(place): \(advice)"), "\(through.stderr)")
            }
        }
    }
}
