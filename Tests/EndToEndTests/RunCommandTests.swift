import Foundation
import MarshalTestSupport
import Testing

/// `marshal run` against real sshd hosts started by scripts/lab.
@Suite("marshal run over SSH", .serialized)
struct RunCommandTests {
    func write(_ runbook: String, in lab: Lab, name: String = "runbook.yml") -> String {
        let path = lab.dir + "/" + name
        CLI.write(runbook, to: path)
        return path
    }

    func runId(from output: String) -> String? {
        output.split(separator: "\n").lazy.compactMap { line -> String? in
            guard let range = line.range(of: "run ") else { return nil }
            return line[range.upperBound...].split(separator: ":").first.map(String.init)
        }.first
    }

    @Test("canary batches [1, 50%, 100%] on 5 hosts: each step once per host, in batch order, as the journal says")
    func canaryBatches() async throws {
        let lab = try await Lab(hosts: 5)
        let runbook = write("""
        version: 1
        runbook: canary
        targets: web
        strategy: { batches: [1, "50%", "100%"] }
        steps:
          - name: first
            shell: "echo first >> {{ vars.app_dir }}/markers; echo {{ host.name }} first $(date +%s%N) >> {{ vars.lab_dir }}/order"
          - name: second
            shell: "echo second >> {{ vars.app_dir }}/markers; echo {{ host.name }} second $(date +%s%N) >> {{ vars.lab_dir }}/order"
        """, in: lab)
        let result = try await CLI.run(["run", runbook, "-e", lab.environment, "--state", lab.state])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        for i in 1...5 {
            #expect(lab.file(lab.hostDir("web\(i)") + "/markers") == "first\nsecond\n", "web\(i) ran each step exactly once")
        }
        // Order on the hosts: every host of batch n finished both steps before any host of batch n+1 began.
        let order = (lab.file(lab.dir + "/order") ?? "").split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        let batchOf = ["web1": 1, "web2": 2, "web3": 2, "web4": 3, "web5": 3]
        let batches = order.map { batchOf[$0[0]] ?? 0 }
        #expect(batches == batches.sorted(), "lines in batch order: \(order)")
        #expect(order.count == 10)
        // The journal tells the same story.
        let shown = try await ShownRun.load("last", state: lab.state)
        #expect(shown.run.status == "succeeded")
        let main = shown.steps.filter { $0.phase == "main" }
        #expect(main.count == 10)
        #expect(main.allSatisfy { $0.status == "succeeded" && $0.exitStatus == 0 })
        #expect(main.map { $0.batch ?? 0 } == main.map { $0.batch ?? 0 }.sorted())
        for (host, batch) in batchOf {
            #expect(main.filter { $0.host == host }.map(\.name) == ["first", "second"])
            #expect(main.filter { $0.host == host }.allSatisfy { $0.batch == batch })
        }
    }

    @Test("a changed host key is refused before any command runs anywhere: exit 3, host and both fingerprints named")
    func hostKeyMismatch() async throws {
        let lab = try await Lab(hosts: 3)
        // Replace web2's line in known_hosts with a different ed25519 key.
        let keyPath = lab.dir + "/other_key"
        _ = try await Shell.run(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keyPath])
        let otherPub = try #require(lab.file(keyPath + ".pub")).split(separator: " ")
        let port = lab.basePort + 1
        let knownHosts = try #require(lab.file(lab.dir + "/known_hosts"))
        let replaced = knownHosts.split(separator: "\n").map { line -> String in
            line.hasPrefix("[127.0.0.1]:\(port) ") ? "[127.0.0.1]:\(port) \(otherPub[0]) \(otherPub[1])" : String(line)
        }.joined(separator: "\n") + "\n"
        CLI.write(replaced, to: lab.dir + "/known_hosts")
        let expected = try await Shell.run(["/usr/bin/ssh-keygen", "-l", "-f", keyPath + ".pub"]).stdout.split(separator: " ")[1]
        let runbook = write("""
        version: 1
        runbook: touch
        targets: web
        steps:
          - shell: "touch {{ vars.app_dir }}/touched"
        """, in: lab)
        let start = Date()
        let result = try await CLI.run(["run", runbook, "-e", lab.environment, "--state", lab.state])
        #expect(result.status == 3, "\(result.stdout)\(result.stderr)")
        let text = result.stdout + result.stderr
        #expect(text.contains("host web2"))
        #expect(text.contains("HOST KEY MISMATCH"))
        #expect(text.contains(String(expected)), "the fingerprint known_hosts expects")
        let actual = try await Shell.run(["/usr/bin/ssh-keygen", "-l", "-f", lab.dir + "/hosts/web2/ssh_host_ed25519_key.pub"])
        if actual.status == 0 { #expect(text.contains(String(actual.stdout.split(separator: " ")[1])), "the fingerprint the server showed") }
        for i in 1...3 { #expect(!FileManager.default.fileExists(atPath: lab.hostDir("web\(i)") + "/touched")) }
        #expect(Date().timeIntervalSince(start) < 15)
    }

    @Test("a closed port fails at once and a silent one within connect_timeout + 1 s")
    func unreachable() async throws {
        let dir = CLI.temporaryDirectory()
        // A listener that accepts TCP but never speaks SSH: only our own timeout can end the wait.
        let silent = try SilentListener()
        CLI.write("""
        version: 1
        environment: dead
        ssh: { user: root, identity: \(dir)/none, known_hosts: \(dir)/known_hosts, connect_timeout: 2s }
        hosts:
          closed: { address: 127.0.0.1, port: \(SilentListener.closedPort()) }
          silent: { address: 127.0.0.1, port: \(silent.port) }
        """, to: dir + "/env.yml")
        let start = Date()
        let result = try await CLI.run(["check", "-e", dir + "/env.yml"])
        let elapsed = Date().timeIntervalSince(start)
        #expect(result.status == 3)
        #expect(result.stdout.contains("closed  127.0.0.1"))
        #expect(result.stdout.contains("refused"))
        #expect(result.stdout.contains("timeout"), "\(result.stdout)")
        // Each host's own time, as `check` measured it, is held to connect_timeout + 1 s; the whole
        // command (process start included, on a loaded test machine) gets a looser bound.
        for line in result.stdout.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            if let ms = words.firstIndex(of: "ms").flatMap({ Double(words[$0 - 1]) }) {
                #expect(ms < 3000, "\(line)")
                if line.hasPrefix("closed") { #expect(ms < 1000, "a closed port fails at once: \(line)") }
            }
        }
        #expect(elapsed < 5.0, "took \(elapsed) s with connect_timeout 2s")
        _ = silent
    }

    @Test("10 MB on stdout and 10 MB on stderr with exit status 7: read to the end, status recorded")
    func bigOutput() async throws {
        let lab = try await Lab(hosts: 1)
        let runbook = write("""
        version: 1
        runbook: big
        targets: all
        steps:
          - name: big
            shell: "head -c 10000000 /dev/zero | tr '\\\\0' a; head -c 10000000 /dev/zero | tr '\\\\0' b >&2; echo; echo end-of-stdout; echo end-of-stderr >&2; exit 7"
        """, in: lab)
        let result = try await CLI.run(["run", runbook, "-e", lab.environment, "--state", lab.state])
        #expect(result.status == 1)
        let step = try #require(try await ShownRun.load("last", state: lab.state).steps.first)
        #expect(step.exitStatus == 7)
        #expect(step.status == "failed")
        // Head and tail are kept: the tail proves the stream was read to its end.
        #expect(step.stdout.hasSuffix("end-of-stdout\n"))
        #expect(step.stderr.hasSuffix("end-of-stderr\n"))
        #expect(step.stdout.contains("bytes omitted"))
    }

    @Test("a command running past its timeout is stopped and reported as a timeout")
    func timeout() async throws {
        let lab = try await Lab(hosts: 1)
        let runbook = write("""
        version: 1
        runbook: slow
        targets: all
        steps:
          - name: slow
            shell: "sleep 30; touch {{ vars.app_dir }}/finished"
            timeout: 2s
        """, in: lab)
        let start = Date()
        let result = try await CLI.run(["run", runbook, "-e", lab.environment, "--state", lab.state])
        #expect(result.status == 1)
        #expect(Date().timeIntervalSince(start) < 8)
        let step = try #require(try await ShownRun.load("last", state: lab.state).steps.first)
        #expect(step.status == "timed_out")
        #expect(step.message?.contains("timed out after 2s") == true)
    }

    @Test("kill -9 in the middle of a step leaves a journal that shows the run interrupted, finished steps recorded")
    func killed() async throws {
        let lab = try await Lab(hosts: 2)
        let runbook = write("""
        version: 1
        runbook: long
        targets: all
        strategy: { batches: ["100%"] }
        steps:
          - name: quick
            shell: "echo done"
          - name: long
            shell: "touch {{ vars.app_dir }}/long-started; sleep 60"
        """, in: lab)
        let pid = try CLI.start(["run", runbook, "-e", lab.environment, "--state", lab.state])
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !(FileManager.default.fileExists(atPath: lab.hostDir("web1") + "/long-started")
                                      && FileManager.default.fileExists(atPath: lab.hostDir("web2") + "/long-started")) {
            try? await Task.sleep(for: .milliseconds(50))
        }
        kill(pid, SIGKILL)
        _ = await Spawn.waitAsync(pid, timeout: 10)
        let shown = try await ShownRun.load("last", state: lab.state)
        #expect(shown.run.status == "interrupted")
        let quick = shown.steps.filter { $0.name == "quick" }
        #expect(quick.count == 2 && quick.allSatisfy { $0.status == "succeeded" })
        #expect(shown.steps.filter { $0.name == "long" }.allSatisfy { $0.status == "started" })
    }

    @Test("a secret never reaches the journal, the output or JSON events, even when the host echoes it back")
    func secretMasking() async throws {
        let lab = try await Lab(hosts: 2)
        let secret = "tok-\(UUID().uuidString)"
        let environment = (lab.file(lab.environment) ?? "") + "secrets:\n  token: { env: E2E_TOKEN }\n"
        CLI.write(environment, to: lab.dir + "/env-secret.yml")
        let runbook = write("""
        version: 1
        runbook: leak
        targets: all
        steps:
          - name: use it
            shell: "echo using {{ secrets.token }}; echo {{ secrets.token }} | base64; echo {{ secrets.token }} >&2; test -n {{ secrets.token }}"
            register: echoed
          - name: fail with it
            shell: "echo {{ secrets.token }}; exit 3"
        """, in: lab)
        for output in ["text", "json"] {
            let result = try await CLI.run(["run", runbook, "-e", lab.dir + "/env-secret.yml", "--state", lab.state, "--output", output],
                                     environment: ["E2E_TOKEN": secret])
            #expect(result.status == 1)
            #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret))
            #expect(result.stdout.contains("***"))
        }
        let shown = try await CLI.run(["show", "last", "--state", lab.state, "--output", "json"])
        #expect(shown.stdout.contains("using ***"))
        let base64 = Data(secret.utf8).base64EncodedString()
        for file in try FileManager.default.contentsOfDirectory(atPath: lab.state) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: lab.state + "/" + file))
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) holds the secret")
            #expect(bytes.range(of: Data(base64.utf8)) == nil, "\(file) holds the secret in base64")
        }
    }

    @Test("a failing host beyond max_failures stops the rollout: later batches are never touched")
    func maxFailures() async throws {
        let lab = try await Lab(hosts: 4)
        let runbook = write("""
        version: 1
        runbook: partial
        targets: web
        strategy: { batches: [1, "100%"], max_failures: 0 }
        steps:
          - shell: "touch {{ vars.app_dir }}/ran; test {{ host.name }} != web1"
        """, in: lab)
        let result = try await CLI.run(["run", runbook, "-e", lab.environment, "--state", lab.state])
        #expect(result.status == 1)
        #expect(result.stderr.contains("exceed max_failures 0"))
        #expect(FileManager.default.fileExists(atPath: lab.hostDir("web1") + "/ran"))
        for i in 2...4 { #expect(!FileManager.default.fileExists(atPath: lab.hostDir("web\(i)") + "/ran")) }
    }
}

/// A TCP listener that never accepts or speaks, for connect-timeout tests; closed on deinit.
final class SilentListener: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        guard let (fd, port) = Loopback.bound(listening: true) else { throw CocoaError(.fileWriteUnknown) }
        self.fd = fd
        self.port = port
    }

    deinit { close(fd) }

    /// A port with nothing listening: bind, read the port, close.
    static func closedPort() -> Int { Loopback.closedPort() }
}
