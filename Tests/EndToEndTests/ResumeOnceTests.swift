import Foundation
import MarshalTestSupport
import Testing

/// A stopped run goes on once. Resumed a second time it ran its remaining steps again; rolled back
/// and then resumed, it ran them on top of what the rollback had undone. Each is refused now, and
/// says what to do instead.
@Suite("Resume: a run goes on once")
struct ResumeOnceTests {
    static let runbook = """
        version: 1
        runbook: gated
        steps:
          - shell: "echo change >> {{ host.vars.dir }}/log"
            undo: { shell: "echo undo-change >> {{ host.vars.dir }}/log" }
          - id: go
            approve: { message: "go on?" }
          - shell: "echo after >> {{ host.vars.dir }}/log"
        """

    /// Runs `gated` until it pauses at `go`; returns its run id.
    static func pausedRun(_ dir: String, env: String) async throws -> String {
        CLI.write(Self.runbook, to: dir + "/gated.yml")
        try await CLI.run(["run", dir + "/gated.yml", "-e", env, "--state", dir + "/state"])
        let shown = try await ShownRun.load("last", state: dir + "/state")
        #expect(shown.run.status == "paused")
        return shown.run.id
    }

    static func log(_ dir: String) -> [String] {
        ((try? String(contentsOfFile: dir + "/log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// How the paused run went on before the operator tries to resume it (again).
    enum WentOn: String, CaseIterable, Sendable {
        case resumed, rolledBack
    }

    @Test("resuming a paused run that another resume already continued, or that was rolled back, is refused naming that run; its steps ran once and what was undone stays undone (the steps ran again, or on top of the undo)",
          arguments: WentOn.allCases)
    func continuedRunNotResumedAgain(_ wentOn: WentOn) async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = CLI.localEnvironment(dir, name: "lab")
        let id = try await Self.pausedRun(dir, env: env)
        let resume = ["resume", id, "-e", env, "--state", dir + "/state", "--approve", "go"]
        let first = try await CLI.run(wentOn == .resumed ? resume : ["rollback", "-e", env, "--state", dir + "/state", "--run", id])
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let other = try await ShownRun.load("last", state: dir + "/state").run.id
        let again = try await CLI.run(resume)
        #expect(again.status == 2)
        let why = wentOn == .resumed
            ? "was already resumed by run \(other) (succeeded); resuming it again would run its remaining steps twice"
            : "was rolled back by run \(other) (succeeded); resuming it would run its remaining steps on top of what was undone"
        #expect(again.stderr == "error: run \(id) \(why). Nothing was changed: start a new run\n", "\(again.stderr)")
        #expect(Self.log(dir) == (wentOn == .resumed ? ["change", "after"] : ["change", "undo-change"]))
        // Its "continue with marshal resume …" is history: show and runs say what became of it.
        let became = "then \(wentOn == .resumed ? "resumed" : "rolled back") by run \(other) (succeeded)"
        let show = try await CLI.run(["show", id, "--state", dir + "/state"])
        #expect(show.stdout.split(separator: "\n").contains { $0 == "  " + became }, "\(show.stdout)")
        let runs = try await CLI.run(["runs", "--state", dir + "/state"])
        #expect(runs.stdout.split(separator: "\n").contains { $0 == "    " + became }, "\(runs.stdout)")
    }

    @Test("a second resume of a run whose first resume is still running is refused at once, saying to let it finish; the remaining steps run once")
    func secondResumeWhileFirstRuns() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = CLI.localEnvironment(dir, name: "lab")
        // The step after the approval goes on only when the test lets it (a marker file).
        CLI.write(Self.runbook.replacingOccurrences(of: "echo after >> {{ host.vars.dir }}/log",
                                                    with: "echo after >> {{ host.vars.dir }}/log; while [ ! -e {{ host.vars.dir }}/let-go ]; do sleep 0.05; done")
                  + "\n    timeout: 60s", to: dir + "/gated.yml")
        try await CLI.run(["run", dir + "/gated.yml", "-e", env, "--state", dir + "/state"])
        let id = try await ShownRun.load("last", state: dir + "/state").run.id
        let resume = ["resume", id, "-e", env, "--state", dir + "/state", "--approve", "go"]
        let first = try Spawn.start([CLI.binary] + resume, environment: ["NO_COLOR": "1"])
        #expect(try await eventually(within: 30) { Self.log(dir) == ["change", "after"] })
        let second = try await CLI.run(resume + ["--lock-wait", "60s"])
        #expect(second.status == 2)
        #expect(second.stderr.hasPrefix("error: run \(id) was already resumed by run "), "\(second.stderr)")
        #expect(second.stderr.contains("(running); resuming it again would run its remaining steps twice. Nothing was changed: let run "), "\(second.stderr)")
        CLI.write("", to: dir + "/let-go")
        #expect(await Spawn.waitAsync(first, timeout: 60) == 0)
        #expect(Self.log(dir) == ["change", "after"])
    }

    @Test("a rollback of the rollout ends its whole story: a resume of it that paused again is not resumed on top of the undo (it was)")
    func rollbackEndsTheStory() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = CLI.localEnvironment(dir, name: "lab")
        CLI.write(Self.runbook + """

          - id: again
            approve: { message: "and the rest?" }
          - shell: "echo last >> {{ host.vars.dir }}/log"
        """, to: dir + "/gated.yml")
        try await CLI.run(["run", dir + "/gated.yml", "-e", env, "--state", dir + "/state"])
        let rollout = try await ShownRun.load("last", state: dir + "/state").run.id
        try await CLI.run(["resume", rollout, "-e", env, "--state", dir + "/state", "--approve", "go"])
        let resumed = try await ShownRun.load("last", state: dir + "/state").run
        #expect(resumed.status == "paused")
        let rollback = try await CLI.run(["rollback", "-e", env, "--state", dir + "/state", "--run", rollout])
        #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
        let rollbackId = try await ShownRun.load("last", state: dir + "/state").run.id
        let again = try await CLI.run(["resume", resumed.id, "-e", env, "--state", dir + "/state", "--approve", "again"])
        #expect(again.status == 2)
        #expect(again.stderr == "error: run \(resumed.id) was rolled back with run \(rollout) by run \(rollbackId) (succeeded); resuming it would run its remaining steps on top of what was undone. Nothing was changed: start a new run\n",
                "\(again.stderr)")
        #expect(Self.log(dir) == ["change", "after", "undo-change"])
    }

    @Test("a change in flight when Marshal was killed: resume's refusal gives the step's name shell-quoted, ready to paste after --rerun (it said only '--rerun STEP' of a name holding quotes)")
    func inFlightNameReadyToPaste() async throws {
        try await CLI.inLocalProject { dir, env in
            CLI.write("""
            version: 1
            runbook: quoted
            steps:
              - name: "the 'big' change"
                shell: "echo change >> {{ host.vars.dir }}/log"
            """, to: dir + "/quoted.yml")
            let killed = try await CLI.run(["run", dir + "/quoted.yml", "-e", env, "--state", dir + "/state"],
                                           environment: ["MARSHAL_TEST_CRASH_AT": "main:started:the 'big' change@here"])
            #expect(killed.status != 0 && killed.status != 1, "\(killed.stdout)\(killed.stderr)")
            let refused = try await CLI.run(["resume", "last", "--state", dir + "/state"])
            #expect(refused.status == 3)
            #expect(refused.stderr.contains("STEP being 'the '\\''big'\\'' change' as written here"), "\(refused.stderr)")
            // What the shell makes of the quoted name is the name itself.
            let resumed = try await CLI.run(["resume", "last", "--state", dir + "/state", "--rerun", "the 'big' change"])
            #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
            #expect(Self.log(dir) == ["change"])
        }
    }
}
