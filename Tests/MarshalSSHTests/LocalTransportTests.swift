import Foundation
import MarshalCore
import Testing
@testable import MarshalSSH

@Suite("Local transport")
struct LocalTransportTests {
    let endpoint = HostEndpoint(name: "localhost", address: "127.0.0.1", user: "root",
                                authentication: .agent, knownHostsPath: "/dev/null", isLocal: true)

    private func executor() async throws -> any RemoteExecutor {
        try await LocalConnector().connect(endpoint)
    }

    @Test("stdout, stderr and the exit status come back separately")
    func runsCommand() async throws {
        let local = try await executor()
        let result = try await local.run(ShellCommand(literal: "echo out; echo err >&2; exit 3"), timeout: nil)
        #expect(result.stdoutText == "out\n")
        #expect(result.stderrText == "err\n")
        #expect(result.ending == .exited(3))
        let stdin = try await local.run(ShellCommand(literal: "cat; echo done"), timeout: .seconds(5))
        #expect(stdin.stdoutText == "done\n")
        let signalled = try await local.run(ShellCommand(literal: "kill -TERM $$"), timeout: nil)
        #expect(signalled.ending == .signalled("TERM"))
    }

    @Test("10 MB on each stream, written concurrently, arrive whole with exit 7")
    func largeStreams() async throws {
        let dir = Lab.scratch()
        let local = try await executor()
        let setup = try await local.run(ShellCommand(literal: """
            cd \(dir) && head -c 10485760 /dev/urandom > out.bin && head -c 10485760 /dev/urandom > err.bin
            """), timeout: .seconds(30))
        #expect(setup.ending == .exited(0))
        let result = try await local.run(
            ShellCommand(literal: "cd \(dir) && { cat err.bin >&2 & cat out.bin; wait; exit 7; }"), timeout: .seconds(60))
        #expect(result.ending == .exited(7))
        // Compared byte for byte: hashing 20 MB in a debug build held a thread of the cooperative
        // pool for seconds, which every other test felt.
        let sameOut = result.stdout == (try fileBytes(dir + "/out.bin"))
        let sameErr = result.stderr == (try fileBytes(dir + "/err.bin"))
        #expect(sameOut, "stdout: \(result.stdout.count) bytes, not out.bin's 10 MB")
        #expect(sameErr, "stderr: \(result.stderr.count) bytes, not err.bin's 10 MB")
        try? FileManager.default.removeItem(atPath: dir)
    }

    @Test("commands started at once, half of them leaving a daemon behind: none holds another's output open, each ends with its own")
    func daemonsHoldNoOtherPipes() async throws {
        let local = try await executor()
        // Each daemon detaches from its own output and lives 30 s. A quick command whose pipe it
        // inherited (created while the daemon's starter was being spawned on another thread)
        // would not end until its 5 s timeout.
        let results = await withTaskGroup(of: (daemon: Int32?, quick: CommandResult?).self) { group in
            for index in 0..<64 {
                group.addTask {
                    if index % 2 == 0 {
                        let started = try? await local.run(ShellCommand(literal: "setsid sleep 30 < /dev/null > /dev/null 2>&1 & echo $!"), timeout: .seconds(5))
                        return (started.flatMap { Int32($0.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) }, nil)
                    }
                    return (nil, try? await local.run(ShellCommand(literal: "echo quick"), timeout: .seconds(5)))
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        for pid in results.compactMap(\.daemon) { kill(pid, SIGKILL) }
        #expect(results.compactMap(\.daemon).count == 32)
        let quick = results.compactMap(\.quick)
        #expect(quick.count == 32)
        let held = quick.filter { $0.ending != .exited(0) || $0.duration > .seconds(2) }
        #expect(held.isEmpty, "\(held.count) of 32 quick commands were held open: \(held.map { "\($0.ending) after \($0.duration)" })")
    }

    @Test("a timed-out command that left a process outside its group holding its output is not reported as stopped")
    func escapedProcessIsNotConfirmedStopped() async throws {
        let dir = Lab.scratch()
        let local = try await executor()
        let pidFile = dir + "/escaped.pid"
        defer {
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(pid, SIGKILL)
            }
        }
        let result = try await local.run(ShellCommand(literal: "setsid sleep 20 & echo $! > \(pidFile); echo started; wait"), timeout: .seconds(1))
        #expect(result.ending == .timedOut)
        #expect(result.stdoutText == "started\n")
        #expect(!result.stopConfirmed, "the setsid process still runs and holds the output")
        let plain = try await local.run(ShellCommand(literal: "sleep 20"), timeout: .seconds(1))
        #expect(plain.ending == .timedOut)
        #expect(plain.stopConfirmed, "a command within its group is stopped and confirmed")
    }

    @Test("a timeout stops the whole process group within timeout + 1 s")
    func timeout() async throws {
        let local = try await executor()
        let result = try await local.run(ShellCommand(literal: "echo started; sleep 32.25 & sleep 32.25; wait"), timeout: .seconds(1))
        #expect(result.ending == .timedOut)
        #expect(result.stdoutText == "started\n")
        // Timed by the transport on its own thread: a wall clock here would also count how long a
        // cooperative pool busy with other suites took to resume this test (16 s was seen).
        #expect(result.duration < .seconds(2))
        try await Task.sleep(for: .milliseconds(300))
        let left = try await local.run(ShellCommand(literal: "ps -eo args | grep -c '^sleep 32[.]25' || true"), timeout: .seconds(5))
        #expect(left.stdoutText == "0\n")
    }

    @Test("an upload copies the file, checks its sha256 and sets its mode")
    func upload() async throws {
        let dir = Lab.scratch()
        let source = dir + "/source.bin"
        let bytes = (0..<(2 * 1024 * 1024 + 7)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        _ = FileManager.default.createFile(atPath: source, contents: Data(bytes))
        let local = try await executor()
        let result = try await local.upload(localPath: source, remotePath: dir + "/target.bin", mode: 0o640)
        #expect(result.bytes == bytes.count)
        #expect(result.sha256 == (try await sha256sum(source)))
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/target.bin")
        #expect((attributes[.posixPermissions] as? Int) == 0o640)
        await #expect(throws: TransportError.self) {
            _ = try await local.upload(localPath: source, remotePath: dir + "/missing/target.bin", mode: 0o600)
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
}

@Suite("SHA-256")
struct SHA256Tests {
    @Test("matches the FIPS 180-4 examples and sha256sum across block boundaries")
    func vectors() {
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var split = SHA256()
        let million = [UInt8](repeating: 0x61, count: 1_000_000)
        split.update(million[0..<333_333].withUnsafeBytes { Data($0) })
        split.update(million[333_333...].withUnsafeBytes { Data($0) })
        #expect(split.finish().map { String(format: "%02x", $0) }.joined()
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
