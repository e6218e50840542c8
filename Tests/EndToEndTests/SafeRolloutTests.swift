import Foundation
import MarshalTestSupport
import Testing

/// Releases, undo and automatic rollback, resume, the environment lock and protected
/// environments, against real sshd hosts.
@Suite("Safe rollouts", .serialized)
struct SafeRolloutTests {
    /// Two release tarballs (v1, v2) whose VERSION file says which one a host serves.
    static func artifacts(in lab: Lab) -> String {
        let dir = lab.dir + "/artifacts"
        for version in ["v1", "v2", "v3"] {
            let src = lab.dir + "/src-\(version)"
            try? FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
            CLI.write(version + "\n", to: src + "/VERSION")
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            _ = try? Shell.runBlocking(["/bin/tar", "-czf", "\(dir)/app-\(version).tar.gz", "-C", src, "."])
        }
        return dir
    }

    static func rollout(_ lab: Lab) -> String {
        let path = lab.dir + "/rollout.yml"
        CLI.write("""
        version: 1
        runbook: rollout
        params:
          release: { type: string, required: true }
          fail_on: { type: string, default: none }
        targets: web
        strategy: { batches: [1, "50%", "100%"] }
        steps:
          - id: ship
            release: { artifact: "\(artifacts(in: lab))/app-{{ params.release }}.tar.gz", path: "{{ vars.app_dir }}/app", id: "{{ params.release }}", keep: 2 }
          - name: note
            shell: "echo {{ params.release }} >> {{ vars.app_dir }}/notes"
            undo: { shell: "echo undo-{{ params.release }} >> {{ vars.app_dir }}/notes" }
          - name: gate
            shell: "test {{ host.name }} != {{ params.fail_on }}"
        on_failure: rollback
        """, to: path)
        return path
    }

    func serving(_ lab: Lab, _ host: String) -> String? {
        lab.file(lab.hostDir(host) + "/app/current/VERSION")?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("v1 then v2 over 5 hosts in [1, 50%, 100%]: every host serves v2 and releases/ keeps exactly `keep` entries")
    func deploy() async throws {
        let lab = try await Lab(hosts: 5)
        let runbook = Self.rollout(lab)
        for release in ["v1", "v2", "v3"] {
            let result = try await CLI.run(["run", runbook, "-e", lab.environment, "--state", lab.state, "-p", "release=\(release)"])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        }
        for i in 1...5 {
            #expect(serving(lab, "web\(i)") == "v3")
            let releases = try FileManager.default.contentsOfDirectory(atPath: lab.hostDir("web\(i)") + "/app/releases").filter { !$0.hasPrefix(".") }
            #expect(releases.sorted() == ["v2", "v3"], "keep: 2 on web\(i)")
        }
    }

    @Test("a gate failing in the second batch: exit 1, undo in reverse on canary and batch 2 only, every host serves v1")
    func gateFailure() async throws {
        let lab = try await Lab(hosts: 5)
        let runbook = Self.rollout(lab)
        #expect(try await CLI.run(["run", runbook, "-e", lab.environment, "--state", lab.state, "-p", "release=v1"]).status == 0)
        let result = try await CLI.run(["run", runbook, "-e", lab.environment, "--state", lab.state, "-p", "release=v2", "-p", "fail_on=web3"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("gate on web3: exit status 1"))
        #expect(result.stderr.contains("rolled back: note on web3, web2; ship on web3, web2; note on web1; ship on web1"))
        for i in 1...5 { #expect(serving(lab, "web\(i)") == "v1", "web\(i)") }
        for i in 1...3 { #expect(lab.file(lab.hostDir("web\(i)") + "/notes") == "v1\nv2\nundo-v2\n", "web\(i) was undone") }
        for i in 4...5 { #expect(lab.file(lab.hostDir("web\(i)") + "/notes") == "v1\n", "web\(i) was never touched by v2") }
        let shown = try await ShownRun.load("last", state: lab.state)
        #expect(shown.run.status == "rolled_back")
        let undo = shown.steps.filter { $0.phase == "undo" && $0.kind != "rollback" }
        #expect(undo.map { "\($0.name)@\($0.host ?? "")" } == ["undo note@web3", "undo note@web2", "undo ship@web3", "undo ship@web2", "undo note@web1", "undo ship@web1"])
        #expect(undo.allSatisfy { $0.status == "succeeded" })
    }

    @Test("marshal rollback after a successful rollout brings every host back to the previous release; --plan changes nothing")
    func rollbackCommand() async throws {
        let lab = try await Lab(hosts: 3)
        let runbook = Self.rollout(lab)
        for release in ["v1", "v2"] {
            #expect(try await CLI.run(["run", runbook, "-e", lab.environment, "--state", lab.state, "-p", "release=\(release)"]).status == 0)
        }
        let plan = try await CLI.run(["rollback", "-e", lab.environment, "--state", lab.state, "--plan"])
        #expect(plan.status == 0)
        #expect(plan.stdout.contains("[web3] undo 'ship': switch current back to releases/v1"))
        for i in 1...3 { #expect(serving(lab, "web\(i)") == "v2") }
        let result = try await CLI.run(["rollback", "-e", lab.environment, "--state", lab.state])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        for i in 1...3 { #expect(serving(lab, "web\(i)") == "v1") }
        let again = try await CLI.run(["rollback", "-e", lab.environment, "--state", lab.state, "--run", "last"])
        #expect(again.status == 2)
    }

    /// Starts `marshal run` in the background and kills it with SIGKILL once `ready` holds.
    func runAndKill(_ arguments: [String], until ready: () async -> Bool) async throws {
        let pid = try CLI.start(arguments)
        _ = try? await eventually(within: 30, every: .milliseconds(20)) { await ready() }
        kill(pid, SIGKILL)
        _ = await Spawn.waitAsync(pid, timeout: 10)
    }

    @Test("kill -9 during a wait of the second batch, then resume: the run completes, each change ran exactly once per host")
    func resumeAfterKill() async throws {
        let lab = try await Lab(hosts: 5)
        let path = lab.dir + "/resumable.yml"
        CLI.write("""
        version: 1
        runbook: resumable
        targets: web
        strategy: { batches: [1, "50%", "100%"] }
        steps:
          - name: mark
            shell: "echo x >> {{ vars.app_dir }}/marks"
          - name: settle
            wait: 8s
          - name: work
            shell: "echo w >> {{ vars.app_dir }}/work"
        """, to: path)
        // Batch 2 is web2, web3: killed once the journal shows batch 2's wait started (polled; a
        // fixed second after the marks was outrun by a loaded machine). 8 s, not 3: on a loaded
        // machine a 3 s wait ended between the `show` that saw it and the kill.
        try await runAndKill(["run", path, "-e", lab.environment, "--state", lab.state]) {
            let shown = try? await ShownRun.load("last", state: lab.state)
            return shown?.steps.contains { $0.name == "settle" && $0.batch == 2 && $0.status == "started" } == true
        }
        let killedIn = try await ShownRun.load("last", state: lab.state)
        #expect(killedIn.steps.contains { $0.name == "settle" && $0.batch == 2 && $0.status == "started" }, "killed during batch 2's wait")
        #expect(try await ShownRun.load("last", state: lab.state).run.status == "interrupted")
        let resumed = try await CLI.run(["resume", "last", "--state", lab.state])
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
        for i in 1...5 {
            #expect(lab.file(lab.hostDir("web\(i)") + "/marks") == "x\n", "mark ran once on web\(i)")
            #expect(lab.file(lab.hostDir("web\(i)") + "/work") == "w\n", "work ran once on web\(i)")
        }
    }

    @Test("killed during a plain shell step, resume names that step and waits for --rerun or --skip")
    func resumeNeedsDecision() async throws {
        let lab = try await Lab(hosts: 2)
        let path = lab.dir + "/slow.yml"
        CLI.write("""
        version: 1
        runbook: slow
        targets: web
        strategy: { batches: ["100%"] }
        steps:
          - name: migrate data
            shell: "echo m >> {{ vars.app_dir }}/migrated; sleep 30"
          - name: after
            shell: "echo a >> {{ vars.app_dir }}/after"
        """, to: path)
        try await runAndKill(["run", path, "-e", lab.environment, "--state", lab.state]) {
            FileManager.default.fileExists(atPath: lab.hostDir("web1") + "/migrated") && FileManager.default.fileExists(atPath: lab.hostDir("web2") + "/migrated")
        }
        let refused = try await CLI.run(["resume", "last", "--state", lab.state])
        #expect(refused.status == 3)
        #expect(refused.stderr.contains("'migrate data' (shell) was in flight on web1"))
        #expect(refused.stderr.contains("--rerun STEP"))
        #expect(lab.file(lab.hostDir("web1") + "/after") == nil, "nothing ran")
        let skipped = try await CLI.run(["resume", "last", "--state", lab.state, "--skip", "migrate data"])
        #expect(skipped.status == 0, "\(skipped.stdout)\(skipped.stderr)")
        for i in 1...2 {
            #expect(lab.file(lab.hostDir("web\(i)") + "/migrated") == "m\n")
            #expect(lab.file(lab.hostDir("web\(i)") + "/after") == "a\n")
        }
    }

    @Test("while a run holds the lock, a second run on that environment exits 3 naming the holder; another environment runs")
    func lock() async throws {
        let lab = try await Lab(hosts: 2)
        let path = lab.dir + "/hold.yml"
        CLI.write("""
        version: 1
        runbook: hold
        targets: all
        steps:
          - shell: "touch {{ vars.app_dir }}/holding; i=0; while [ ! -e \(lab.dir)/let-go ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done"
        """, to: path)
        // The first run holds the lock until the test lets it go (bounded at 60 s), not for a fixed
        // time: on a loaded machine a second run could otherwise start after a 4 s step had ended.
        let other = (lab.file(lab.environment) ?? "").replacingOccurrences(of: "environment: lab", with: "environment: lab-two")
        CLI.write(other, to: lab.dir + "/other.yml")
        let first = try CLI.start(["run", path, "-e", lab.environment, "--state", lab.state])
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline && !FileManager.default.fileExists(atPath: lab.hostDir("web1") + "/holding") { try? await Task.sleep(for: .milliseconds(20)) }
        let second = try await CLI.run(["run", path, "-e", lab.environment, "--state", lab.state])
        #expect(second.status == 3)
        #expect(second.stderr.contains("environment lab is locked by"))
        #expect(second.stderr.contains("pid \(first)"))
        let status = try await CLI.run(["lock", "status", "-e", lab.environment, "--state", lab.state])
        #expect(status.stdout.contains("locked by"))
        CLI.write("", to: lab.dir + "/let-go")
        let elsewhere = try await CLI.run(["run", path, "-e", lab.dir + "/other.yml", "--state", lab.state])
        #expect(elsewhere.status == 0, "\(elsewhere.stderr)")
        #expect(await Spawn.waitAsync(first, timeout: 30) == 0)
        #expect(try await CLI.run(["lock", "status", "-e", lab.environment, "--state", lab.state]).stdout.contains("not locked"))
    }

    @Test("a stale lock (holder killed) is reported as stale and can be released")
    func staleLock() async throws {
        let lab = try await Lab(hosts: 1)
        let path = lab.dir + "/hold.yml"
        CLI.write("""
        version: 1
        runbook: hold
        targets: all
        steps:
          - shell: "touch {{ vars.app_dir }}/holding; sleep 30"
        """, to: path)
        try await runAndKill(["run", path, "-e", lab.environment, "--state", lab.state]) {
            FileManager.default.fileExists(atPath: lab.hostDir("web1") + "/holding")
        }
        let blocked = try await CLI.run(["run", path, "-e", lab.environment, "--state", lab.state])
        #expect(blocked.status == 3)
        #expect(blocked.stderr.contains("stale lock"))
        #expect(try await CLI.run(["lock", "status", "-e", lab.environment, "--state", lab.state]).stdout.contains("STALE"))
        #expect(try await CLI.run(["lock", "release", "-e", lab.environment, "--state", lab.state]).status == 0)
        #expect(try await CLI.run(["lock", "status", "-e", lab.environment, "--state", lab.state]).stdout.contains("not locked"))
    }

    @Test("an approve step pauses the run (exit 0, run and step journaled paused); resume --approve finishes it without redoing earlier steps")
    func approval() async throws {
        let lab = try await Lab(hosts: 2)
        let path = lab.dir + "/approve.yml"
        CLI.write("""
        version: 1
        runbook: gated
        targets: web
        steps:
          - name: before
            shell: "echo b >> {{ vars.app_dir }}/before"
          - id: go
            name: go ahead
            approve: "canary looks good?"
          - name: after
            shell: "echo a >> {{ vars.app_dir }}/after"
        """, to: path)
        let paused = try await CLI.run(["run", path, "-e", lab.environment, "--state", lab.state])
        #expect(paused.status == 0, "\(paused.stderr)")
        #expect(paused.stderr.contains("paused at go ahead"))
        let shown = try await ShownRun.load("last", state: lab.state)
        #expect(shown.run.status == "paused")
        // The step that waits is journaled as paused, not as started (which reads as in flight).
        #expect(shown.steps.filter { $0.kind == "approve" }.map(\.status) == ["paused"], "\(shown.steps.map { "\($0.kind) \($0.status)" })")
        #expect(lab.file(lab.hostDir("web1") + "/after") == nil)
        let resumed = try await CLI.run(["resume", "last", "--state", lab.state, "--approve", "go"])
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
        for i in 1...2 {
            #expect(lab.file(lab.hostDir("web\(i)") + "/before") == "b\n", "before ran once on web\(i)")
            #expect(lab.file(lab.hostDir("web\(i)") + "/after") == "a\n")
        }
    }

    @Test("a protected environment from a non-TTY with --yes and no --approve: exit 2 before any host is contacted")
    func protectedEnvironment() async throws {
        let lab = try await Lab(hosts: 2)
        let protected = (lab.file(lab.environment) ?? "").replacingOccurrences(of: "environment: lab\n", with: "environment: lab\nprotected: true\n")
        CLI.write(protected, to: lab.dir + "/protected.yml")
        let path = lab.dir + "/touch.yml"
        CLI.write("""
        version: 1
        runbook: touch
        targets: all
        steps:
          - shell: "touch {{ vars.app_dir }}/touched"
        """, to: path)
        let sshdLog = lab.hostDir("web1") + "/sshd.log"
        let logBefore = lab.file(sshdLog) ?? ""
        let refused = try await CLI.run(["run", path, "-e", lab.dir + "/protected.yml", "--state", lab.state, "--yes"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("is protected"))
        #expect(refused.stderr.contains("--yes alone is not enough"))
        #expect(lab.file(sshdLog) == logBefore, "no connection reached the host")
        let runs = try await CLI.run(["runs", "--state", lab.state])
        #expect(runs.stdout.contains("no runs"))
        let approved = try await CLI.run(["run", path, "-e", lab.dir + "/protected.yml", "--state", lab.state, "--yes", "--approve", "lab"])
        #expect(approved.status == 0, "\(approved.stderr)")
        #expect(FileManager.default.fileExists(atPath: lab.hostDir("web1") + "/touched"))
    }
}
