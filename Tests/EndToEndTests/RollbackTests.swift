import Foundation
import MarshalTestSupport
import Testing

/// Rollback you can trust under faults (issue 11): undos journaled exactly, retried when they
/// failed, asked about when Marshal died during one, continued by resume, run in parallel across
/// hosts. Real sshd hosts; Marshal is killed with SIGKILL by its test hook (MARSHAL_TEST_CRASH_AT).
@Suite("Rollback under faults", .serialized)
struct RollbackTests {
    /// a and b change every web host (marker files count how often each change and each undo
    /// ran); gate fails on `fail_on`. An undo of b fails while `block-undo` exists on the host.
    static func runbook(_ lab: Lab, forks: Int = 50, slowUndoOn: String = "none") -> String {
        let path = lab.dir + "/undoable.yml"
        CLI.write("""
        version: 1
        runbook: undoable
        params:
          fail_on: { type: string, default: web2 }
        targets: web
        strategy: { batches: ["100%"], forks: \(forks) }
        steps:
          - id: a
            shell: "echo a >> {{ vars.app_dir }}/a"
            undo: { shell: "echo ua >> {{ vars.app_dir }}/undo-a" }
          - id: b
            shell: "echo b >> {{ vars.app_dir }}/b"
            undo: { shell: "test ! -e {{ vars.app_dir }}/block-undo && if [ {{ host.name }} = \(slowUndoOn) ]; then sleep 3; fi && echo ub >> {{ vars.app_dir }}/undo-b && echo {{ host.name }} >> {{ vars.lab_dir }}/undo-order" }
          - id: gate
            shell: "test {{ host.name }} != {{ params.fail_on }}"
        on_failure: rollback
        """, to: path)
        return path
    }

    func count(_ lab: Lab, _ host: String, _ file: String) -> Int {
        (lab.file(lab.hostDir(host) + "/" + file) ?? "").split(separator: "\n").count
    }

    func crash(at point: String, _ arguments: [String]) async throws -> CLI.Result {
        let result = try await CLI.run(arguments, environment: ["MARSHAL_TEST_CRASH_AT": point])
        #expect(result.status != 0 && result.status != 1, "marshal was killed at \(point): \(result.stdout)\(result.stderr)")
        return result
    }

    @Test("case 3: killed during the undo of b on web1, rollback asks about that undo; --skip finishes the rest; each undo ran once")
    func undoInFlightIsAsked() async throws {
        let lab = try await Lab(hosts: 2)
        let path = Self.runbook(lab, forks: 1)
        // forks 1: web2's undo of b ends (and is journaled with web1's start) before web1's runs.
        _ = try await crash(at: "undo:finished:b@web1", ["run", path, "-e", lab.environment, "--state", lab.state])
        let id = try await ShownRun.load("last", state: lab.state).run.id
        #expect(count(lab, "web1", "undo-b") == 1, "web1's undo of b ran before the kill")
        let refused = try await CLI.run(["rollback", "-e", lab.environment, "--state", lab.state, "--run", id])
        #expect(refused.status == 3, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("the undo of 'b' (shell) was in flight on web1"), "\(refused.stderr)")
        #expect(refused.stderr.contains("STEP being b as written here"), "\(refused.stderr)")
        #expect(count(lab, "web1", "undo-a") == 0, "nothing was undone while asking")
        let plan = try await CLI.run(["rollback", "-e", lab.environment, "--state", lab.state, "--run", id, "--skip", "b", "--plan"])
        #expect(plan.stdout.contains("[web1] undo 'a'") && !plan.stdout.contains("undo 'b'"), "\(plan.stdout)")
        let finished = try await CLI.run(["rollback", "-e", lab.environment, "--state", lab.state, "--run", id, "--skip", "b"])
        #expect(finished.status == 0, "\(finished.stdout)\(finished.stderr)")
        for host in ["web1", "web2"] {
            #expect(count(lab, host, "undo-b") == 1, "undo of b exactly once on \(host)")
            #expect(count(lab, host, "undo-a") == 1, "undo of a exactly once on \(host)")
        }
        let again = try await CLI.run(["rollback", "-e", lab.environment, "--state", lab.state, "--run", id])
        #expect(again.status == 2, "already rolled back: \(again.stderr)")
    }

    @Test("case 4: resume of a run killed as it began rolling back continues the rollback; forward steps never run again")
    func resumeContinuesRollback() async throws {
        let lab = try await Lab(hosts: 2)
        let path = Self.runbook(lab)
        _ = try await crash(at: "rollback:begin", ["run", path, "-e", lab.environment, "--state", lab.state])
        #expect(try await ShownRun.load("last", state: lab.state).run.status == "interrupted")
        let resumed = try await CLI.run(["resume", "last", "--state", lab.state])
        #expect(resumed.status == 1, "a resumed rollback ends rolled back: \(resumed.stdout)\(resumed.stderr)")
        #expect(try await ShownRun.load("last", state: lab.state).run.status == "rolled_back")
        for host in ["web1", "web2"] {
            #expect(count(lab, host, "a") == 1 && count(lab, host, "b") == 1, "forward steps ran once on \(host)")
            #expect(count(lab, host, "undo-a") == 1 && count(lab, host, "undo-b") == 1, "each undo ran once on \(host)")
        }
        let shown = try await ShownRun.load("last", state: lab.state)
        #expect(shown.steps.allSatisfy { $0.phase == "undo" }, "the resume ran only undos: \(shown.steps.map(\.name))")
    }

    @Test("case 4 (twice): killed mid-rollback, resumed and killed again, resumed again: each undo exactly once")
    func resumeTwiceMidRollback() async throws {
        let lab = try await Lab(hosts: 2)
        let path = Self.runbook(lab, forks: 1)
        // Killed as web2's undo of a starts: b is undone on both hosts and journaled.
        _ = try await crash(at: "undo:started:a@web2", ["run", path, "-e", lab.environment, "--state", lab.state])
        _ = try await crash(at: "undo:started:a@web1", ["resume", "last", "--state", lab.state, "--rerun", "a"])
        let resumed = try await CLI.run(["resume", "last", "--state", lab.state, "--rerun", "a"])
        #expect(resumed.status == 1, "\(resumed.stdout)\(resumed.stderr)")
        for host in ["web1", "web2"] {
            #expect(count(lab, host, "a") == 1 && count(lab, host, "b") == 1, "forward steps ran once on \(host)")
            #expect(count(lab, host, "undo-a") == 1 && count(lab, host, "undo-b") == 1, "each undo ran once on \(host)")
        }
    }

    @Test("case 5: a failed undo stays pending; rollback --run retries exactly it")
    func failedUndoIsRetried() async throws {
        let lab = try await Lab(hosts: 2)
        let path = Self.runbook(lab)
        CLI.write("", to: lab.hostDir("web2") + "/block-undo")
        let failed = try await CLI.run(["run", path, "-e", lab.environment, "--state", lab.state])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("UNDO FAILED: undo of b on web2"), "\(failed.stderr)")
        #expect(failed.stderr.contains("retries it"), "\(failed.stderr)")
        let id = try await ShownRun.load("last", state: lab.state).run.id
        #expect(count(lab, "web2", "undo-b") == 0)
        try FileManager.default.removeItem(atPath: lab.hostDir("web2") + "/block-undo")
        let plan = try await CLI.run(["rollback", "-e", lab.environment, "--state", lab.state, "--run", id, "--plan"])
        #expect(plan.stdout.contains("[web2] undo 'b'") && plan.stdout.contains("again"), "\(plan.stdout)")
        #expect(!plan.stdout.contains("[web1] undo 'b'"), "\(plan.stdout)")
        let retried = try await CLI.run(["rollback", "-e", lab.environment, "--state", lab.state, "--run", id])
        #expect(retried.status == 0, "\(retried.stdout)\(retried.stderr)")
        for host in ["web1", "web2"] {
            #expect(count(lab, host, "undo-b") == 1, "undo of b exactly once on \(host)")
            #expect(count(lab, host, "undo-a") == 1, "undo of a exactly once on \(host)")
        }
    }

    @Test("case 9: a step's undos run in parallel (a slow host does not hold the others); the failure line names at most 3 hosts")
    func parallelUndoAndShortSummary() async throws {
        let lab = try await Lab(hosts: 5)
        let path = Self.runbook(lab, slowUndoOn: "web5")
        // Every host fails the gate. web5's undo of b sleeps 3 s; undone one at a time it would
        // come first (undos run newest record first), in parallel the others finish long before it.
        let everyHost = lab.dir + "/all-fail.yml"
        CLI.write((lab.file(path) ?? "").replacingOccurrences(of: "test {{ host.name }} != {{ params.fail_on }}", with: "false")
            .replacingOccurrences(of: "runbook: undoable", with: "runbook: all-fail"), to: everyHost)
        let all = try await CLI.run(["run", everyHost, "-e", lab.environment, "--state", lab.state])
        #expect(all.status == 1)
        let parallel = (lab.file(lab.dir + "/undo-order") ?? "").split(separator: "\n").map(String.init)
        #expect(parallel.count == 5 && parallel.last == "web5", "the slow host's undo ended last: \(parallel)")
        let failureLine = all.stderr.split(separator: "\n").first { $0.hasPrefix("failed:") }.map(String.init) ?? ""
        #expect(failureLine.contains("5 failed hosts (web1, web2, web3 and 2 more"), "\(failureLine)")
        #expect(!failureLine.contains("gate on web4"), "\(failureLine)")
        #expect(failureLine.count < 700, "the failure line stays short: \(failureLine.count) characters")
    }

    @Test("case 7: a host whose sshd is SIGSTOPped mid-step (no step timeout) is dropped by SSH keepalive; the run ends naming it; the healthy host is undone at once")
    func hungHostEnds() async throws {
        let lab = try await Lab(hosts: 2)
        let environment = lab.dir + "/keepalive.yml"
        CLI.write((lab.file(lab.environment) ?? "").replacingOccurrences(
            of: "  connect_timeout: 5s\n", with: "  connect_timeout: 5s\n  keepalive_interval: 1s\n  keepalive_count: 3\n"), to: environment)
        let path = lab.dir + "/hang.yml"
        CLI.write("""
        version: 1
        runbook: hang
        targets: web
        steps:
          - id: a
            shell: "echo a >> {{ vars.app_dir }}/a"
            undo: { shell: "echo ua >> {{ vars.app_dir }}/undo-a" }
          - id: b
            shell: "touch {{ vars.app_dir }}/b-started; sleep 6"
        on_failure: rollback
        """, to: path)
        let started = Date()
        let pid = try CLI.start(["run", path, "-e", environment, "--state", lab.state])
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && !(["web1", "web2"].allSatisfy { FileManager.default.fileExists(atPath: lab.hostDir($0) + "/b-started") }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        lab.signalSSHD(of: "web2", SIGSTOP)
        defer { lab.signalSSHD(of: "web2", SIGCONT) }
        let status = await Spawn.waitAsync(pid, timeout: 120)
        let took = Date().timeIntervalSince(started)
        #expect(status == 1, "the run failed and rolled back")
        #expect(took < 60, "ended in \(Int(took)) s, well within 2 minutes")
        let shown = try await ShownRun.load("last", state: lab.state)
        let failed = shown.steps.first { $0.name == "b" && $0.host == "web2" }
        #expect(failed?.status == "failed")
        #expect(failed?.message?.contains("host not answering") == true, "\(failed?.message ?? "")")
        #expect(shown.run.failureSummary?.contains("b on web2") == true, "\(shown.run.failureSummary ?? "")")
        #expect(count(lab, "web1", "undo-a") == 1, "the healthy host was undone")
        let web1Undo = shown.steps.first { $0.phase == "undo" && $0.host == "web1" }
        #expect(web1Undo?.status == "succeeded")
    }

    @Test("a timed-out step whose command the host confirms gone says 'stopped'; the process group is really gone")
    func timeoutSaysWhatIsTrue() async throws {
        let lab = try await Lab(hosts: 1)
        let path = lab.dir + "/slow.yml"
        CLI.write("""
        version: 1
        runbook: slow
        targets: web
        steps:
          - id: slow
            shell: "sleep 30; touch {{ vars.app_dir }}/finished"
            timeout: 3s
        """, to: path)
        let result = try await CLI.run(["run", path, "-e", lab.environment, "--state", lab.state])
        #expect(result.status == 1)
        #expect(result.stderr.contains("timed out after 3s; the command was stopped"), "\(result.stderr)")
    }

    @Test("case 10: on_failure: { run: RUNBOOK, params } runs that runbook in the failed run (same lock), params from the failed run; its outcome is the run's")
    func onFailureRunsRunbook() async throws {
        let lab = try await Lab(hosts: 2)
        CLI.write("""
        version: 1
        runbook: cleanup
        params:
          failed: { type: string, required: true }
          release: { type: string, required: true }
        targets: web
        steps:
          - name: clean up
            shell: "echo cleanup {{ params.failed }} {{ params.release }} >> {{ vars.app_dir }}/cleanup; test ! -e {{ vars.app_dir }}/cleanup-fails"
        """, to: lab.dir + "/cleanup.yml")
        let path = lab.dir + "/deploy.yml"
        CLI.write("""
        version: 1
        runbook: deploy
        params:
          release: { type: string, required: true }
        targets: web
        steps:
          - name: change
            shell: "echo {{ params.release }} >> {{ vars.app_dir }}/changes"
          - name: gate
            shell: "false"
        on_failure: { run: cleanup.yml, params: { failed: "{{ failed_run.id }}", release: "{{ params.release }}" } }
        """, to: path)
        let result = try await CLI.run(["run", path, "-e", lab.environment, "--state", lab.state, "-p", "release=v7"])
        #expect(result.status == 1)
        let shown = try await ShownRun.load("last", state: lab.state)
        #expect(shown.run.status == "rolled_back", "\(result.stderr)")
        for host in ["web1", "web2"] {
            #expect(lab.file(lab.hostDir(host) + "/cleanup") == "cleanup \(shown.run.id) v7\n", "cleanup ran once on \(host) with the failed run's id")
        }
        #expect(result.stderr.contains("on_failure runbook cleanup: clean up on web1, web2"), "\(result.stderr)")

        CLI.write("", to: lab.hostDir("web2") + "/cleanup-fails")
        let failing = try await CLI.run(["run", path, "-e", lab.environment, "--state", lab.state, "-p", "release=v8"])
        #expect(failing.status == 1)
        #expect(try await ShownRun.load("last", state: lab.state).run.status == "failed", "a failing on_failure runbook fails the run")
        #expect(failing.stderr.contains("ROLLBACK FAILED at clean up on web2"), "\(failing.stderr)")
    }

    @Test("case 6: the journal's disk fills up mid-run: the on_failure rollback still runs, says what it did, and leaves a recovery file that rollback and resume read")
    func journalDiskFull() async throws {
        let lab = try await Lab(hosts: 3)
        let state = lab.dir + "/small-state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let mounted = try await Shell.run(["/bin/mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", state])
        try #require(mounted.status == 0, "mount tmpfs: \(mounted.stderr)")
        defer { _ = try? Shell.runBlocking(["/bin/umount", "-l", state]) }
        let path = lab.dir + "/fill.yml"
        CLI.write("""
        version: 1
        runbook: fill
        targets: web
        steps:
          - name: mark
            shell: "echo m >> {{ vars.app_dir }}/marks"
            undo: { shell: "echo u >> {{ vars.app_dir }}/undone" }
          - name: fill the journal's disk
            shell: "dd if=/dev/zero of=\(state)/filler-{{ host.name }} bs=64k 2>/dev/null; true"
          - name: after
            shell: "echo a >> {{ vars.app_dir }}/after"
        on_failure: rollback
        """, to: path)
        let result = try await CLI.run(["run", path, "-e", lab.environment, "--state", state], cwd: lab.dir)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("the journal could not"), "\(result.stderr)")
        #expect(result.stderr.contains("rolled back: mark on"), "\(result.stderr)")
        #expect(result.stderr.contains("marshal-recovery-"), "\(result.stderr)")
        for host in ["web1", "web2", "web3"] {
            #expect(count(lab, host, "undone") == 1, "mark was undone once on \(host)")
            #expect(count(lab, host, "after") == 0, "nothing ran forward after the journal failed")
        }
        let recovery = try FileManager.default.contentsOfDirectory(atPath: lab.dir).filter { $0.hasPrefix("marshal-recovery-") }
        try #require(recovery.count == 1, "one recovery file in the working directory")
        let id = String(recovery[0].dropFirst("marshal-recovery-".count).dropLast(".json".count))
        for host in ["web1", "web2", "web3"] { try? FileManager.default.removeItem(atPath: state + "/filler-" + host) }

        let plan = try await CLI.run(["rollback", "-e", lab.environment, "--state", state, "--run", id, "--plan"], cwd: lab.dir)
        #expect(plan.stdout.contains("nothing to undo"), "the recovery file says mark was undone: \(plan.stdout)\(plan.stderr)")
        _ = try await CLI.run(["lock", "release", "-e", lab.environment, "--state", state], cwd: lab.dir)
        let resumed = try await CLI.run(["resume", id, "--state", state], cwd: lab.dir)
        #expect(resumed.status == 1, "resume continues the rollback from the recovery file: \(resumed.stdout)\(resumed.stderr)")
        #expect(resumed.stderr.contains("rolled back: nothing to undo"), "\(resumed.stderr)")
        for host in ["web1", "web2", "web3"] {
            #expect(count(lab, host, "undone") == 1, "still undone exactly once on \(host)")
            #expect(count(lab, host, "marks") == 1 && count(lab, host, "after") == 0, "no forward step ran again on \(host)")
        }
    }
}
