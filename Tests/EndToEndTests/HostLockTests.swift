import Foundation
import MarshalTestSupport
import Testing

/// The embedded default (a SQLite journal per operator) is safe across machines: the environment
/// lock is also held on the lock host, over SSH, with an atomic `mkdir` (real sshd from scripts/lab).
@Suite("lock on the hosts with the embedded journal")
struct HostLockTests {
    static let runbook = """
    version: 1
    runbook: hold
    params:
      release: { type: string, required: true }
    targets: web
    steps:
      - name: mark
        shell: "echo {{ params.release }} >> {{ vars.lab_dir }}/order; touch {{ vars.lab_dir }}/holding"
      - name: hold
        shell: "i=0; while [ ! -f {{ vars.lab_dir }}/go ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done"
    """

    @Test("two operators, two local journals, one environment: the second run exits 3 naming the first (holder, run, message), through the lock on web1; --lock-wait then starts it")
    func secondOperatorStoppedByHostLock() async throws {
        let lab = try await Lab(hosts: 2)
        CLI.write(Self.runbook, to: lab.dir + "/hold.yml")
        let stateA = lab.dir + "/laptop-a", stateB = lab.dir + "/laptop-b"
        let envA = ["MARSHAL_MACHINE": "laptop-a", "USER": "alice"], envB = ["MARSHAL_MACHINE": "laptop-b", "USER": "bob"]
        async let first = CLI.run(["run", lab.dir + "/hold.yml", "-e", lab.environment, "--state", stateA, "-p", "release=a",
                                   "--message", "release a; don't deploy"], environment: envA)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, lab.file(lab.dir + "/holding") == nil { try await Task.sleep(for: .milliseconds(50)) }
        let status = try await CLI.run(["lock", "status", "-e", lab.environment, "--state", stateB], environment: envB)
        #expect(status.stdout.contains("locked by alice@laptop-a"), "B sees A's lock on the host: \(status.stdout)\(status.stderr)")
        #expect(status.stdout.contains(#": "release a; don't deploy")"#), "with A's message, read from the host: \(status.stdout)")
        #expect(lab.file(lab.dir + "/home/.marshal/locks/lab/info")?.contains("message=release a; don't deploy\n") == true,
                "the message is in the host's lock info: \(lab.file(lab.dir + "/home/.marshal/locks/lab/info") ?? "none")")
        let second = try await CLI.run(["run", lab.dir + "/hold.yml", "-e", lab.environment, "--state", stateB, "-p", "release=b"], environment: envB)
        #expect(second.status == 3, "\(second.stdout)\(second.stderr)")
        #expect(second.stderr.contains("alice@laptop-a") && second.stderr.contains("run 2"), "\(second.stderr)")
        #expect(second.stderr.contains(#""release a; don't deploy""#), "the refusal carries A's message: \(second.stderr)")
        #expect(lab.file(lab.dir + "/order")?.contains("b") == false, "B changed nothing")

        async let waiting = CLI.run(["run", lab.dir + "/hold.yml", "-e", lab.environment, "--state", stateB, "-p", "release=b", "--lock-wait", "60s"],
                                    environment: envB)
        CLI.write("", to: lab.dir + "/go")
        let a = try await first
        #expect(a.status == 0, "\(a.stdout)\(a.stderr)")
        let b = try await waiting
        #expect(b.status == 0, "\(b.stdout)\(b.stderr)")
        #expect(lab.file(lab.dir + "/order") == "a\na\nb\nb\n", "the runs did not overlap")
        // Released at the end: nothing left on the host.
        #expect(!FileManager.default.fileExists(atPath: lab.dir + "/home/.marshal/locks/lab"))
        let after = try await CLI.run(["lock", "status", "-e", lab.environment, "--state", stateA], environment: envA)
        #expect(after.stdout.contains("lab: not locked"), "\(after.stdout)\(after.stderr)")
    }

    @Test("a run killed with -9 and finished by resume leaves no lock on the lock host: another operator's run starts next")
    func resumeReleasesTheHostLock() async throws {
        let lab = try await Lab(hosts: 2)
        CLI.write(Self.runbook, to: lab.dir + "/hold.yml")
        CLI.write("", to: lab.dir + "/go")
        let stateA = lab.dir + "/laptop-a", stateB = lab.dir + "/laptop-b"
        let envA = ["MARSHAL_MACHINE": "laptop-a", "USER": "alice"], envB = ["MARSHAL_MACHINE": "laptop-b", "USER": "bob"]
        let killed = try await CLI.run(["run", lab.dir + "/hold.yml", "-e", lab.environment, "--state", stateA, "-p", "release=a"],
                                       environment: envA.merging(["MARSHAL_TEST_CRASH_AT": "main:finished:mark"]) { $1 })
        #expect(killed.status == 137, "killed at the boundary after mark: \(killed.stdout)\(killed.stderr)")
        #expect(FileManager.default.fileExists(atPath: lab.dir + "/home/.marshal/locks/lab"), "the killed run left its host lock")
        let resumed = try await CLI.run(["resume", "last", "--state", stateA, "--skip", "mark"], environment: envA)
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: lab.dir + "/home/.marshal/locks/lab"), "resume released the host lock")
        let other = try await CLI.run(["run", lab.dir + "/hold.yml", "-e", lab.environment, "--state", stateB, "-p", "release=b"], environment: envB)
        #expect(other.status == 0, "B is not refused: \(other.stdout)\(other.stderr)")
    }
}
