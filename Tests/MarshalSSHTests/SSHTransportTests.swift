import Foundation
import MarshalCore
import MarshalTestSupport
import Testing
@testable import MarshalSSH

@Suite("SSH transport against the lab", .serialized)
struct SSHTransportTests {
    let lab: Lab
    let connector = SSHConnector()

    init() async throws { lab = try await Lab.shared() }

    private func connect(_ endpoint: HostEndpoint) async throws -> any RemoteExecutor {
        try await connector.connect(endpoint)
    }

    /// Opens the connection as SSHConnector does, on a thread of its own, and times it there: a wall
    /// clock around `connect` would also count how long a cooperative pool busy with other suites
    /// took to resume this test.
    private func timedConnectionError(_ endpoint: HostEndpoint) async -> (TransportError?, Duration) {
        await withCheckedContinuation { continuation in
            Thread {
                let start = ContinuousClock.now
                do throws(TransportError) {
                    _ = try Connection.open(endpoint)
                    continuation.resume(returning: (nil, .now - start))
                } catch {
                    continuation.resume(returning: (error, .now - start))
                }
            }.start()
        }
    }

    private func connectionError(_ endpoint: HostEndpoint) async -> TransportError? {
        do {
            let executor = try await connector.connect(endpoint)
            await executor.close()
            return nil
        } catch {
            return error
        }
    }

    @Test("a command's stdout, stderr and exit status come back separately")
    func runsCommand() async throws {
        let executor = try await connect(lab.endpoint(1))
        let result = try await executor.run(ShellCommand(literal: "echo out; echo err >&2; exit 3"), timeout: nil)
        #expect(result.stdoutText == "out\n")
        #expect(result.stderrText == "err\n")
        #expect(result.ending == .exited(3))
        let quoted = try await executor.run(ShellCommand([.literal("printf %s "), .quoted("it's $HOME")]), timeout: .seconds(5))
        #expect(quoted.stdoutText == "it's $HOME")
        #expect(quoted.ending == .exited(0))
        let stdin = try await executor.run(ShellCommand(literal: "cat; echo done"), timeout: .seconds(5))
        #expect(stdin.stdoutText == "done\n")
        let signalled = try await executor.run(ShellCommand(literal: "kill -TERM $$"), timeout: nil)
        #expect(signalled.ending == .signalled("TERM"))
        await executor.close()
    }

    @Test("10 MB on stdout and 10 MB on stderr, written concurrently, arrive whole with exit 7")
    func largeStreams() async throws {
        let executor = try await connect(lab.endpoint(1))
        let dir = lab.hostDirectory(1)
        let setup = try await executor.run(ShellCommand(literal: """
            cd \(dir) && head -c 10485760 /dev/urandom > out.bin && head -c 10485760 /dev/urandom > err.bin
            """), timeout: .seconds(30))
        #expect(setup.ending == .exited(0))
        let result = try await executor.run(
            ShellCommand(literal: "cd \(dir) && { cat err.bin >&2 & cat out.bin; wait; exit 7; }"), timeout: .seconds(60))
        #expect(result.ending == .exited(7))
        #expect(result.stdout.count == 10_485_760)
        #expect(result.stderr.count == 10_485_760)
        // The lab's hosts are on this machine: compared byte for byte with the files (hashing 20 MB
        // in a debug build held a thread of the cooperative pool for seconds).
        let sameOut = result.stdout == (try fileBytes(dir + "/out.bin"))
        let sameErr = result.stderr == (try fileBytes(dir + "/err.bin"))
        #expect(sameOut, "stdout differs from out.bin")
        #expect(sameErr, "stderr differs from err.bin")
        await executor.close()
    }

    @Test("a command past its timeout is stopped and reported as timedOut within timeout + 1 s")
    func timeout() async throws {
        let executor = try await connect(lab.endpoint(1))
        let result = try await executor.run(ShellCommand(literal: "echo started; sleep 31.25"), timeout: .seconds(1))
        #expect(result.ending == .timedOut)
        #expect(result.stdoutText == "started\n")
        // Timed on the connection's own thread, so a busy cooperative pool does not count.
        #expect(result.duration < .seconds(2))
        // The remote process group was killed, not abandoned.
        try await Task.sleep(for: .milliseconds(300))
        let left = try await executor.run(ShellCommand(literal: "ps -eo args | grep -c '^sleep 31[.]25' || true"), timeout: .seconds(5))
        #expect(left.stdoutText == "0\n")
        // The session is still usable.
        let after = try await executor.run(ShellCommand(literal: "echo ok"), timeout: .seconds(5))
        #expect(after.stdoutText == "ok\n")
        await executor.close()
    }

    @Test("strict checking refuses an unknown host key and names its SHA256 fingerprint")
    func unknownHostKey() async throws {
        let scratch = Lab.scratch()
        let empty = scratch + "/known_hosts"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let error = await connectionError(lab.endpoint(1, knownHosts: empty))
        let expected = try await hostFingerprint(1)
        guard case .unknownHostKey(let host, let type, let fingerprint, _) = error else {
            Issue.record("expected unknownHostKey, got \(String(describing: error))")
            return
        }
        #expect(host == "web1")
        #expect(type == "ssh-ed25519")
        #expect(fingerprint == expected)
        #expect(error?.description.contains(expected) == true)
    }

    @Test("strict checking with no known_hosts file says so, naming the path (issue 16)")
    func missingKnownHostsFile() async throws {
        let missing = Lab.scratch() + "/nowhere/known_hosts"
        let error = await connectionError(lab.endpoint(1, knownHosts: missing))
        guard case .missingKnownHosts(let host, let path) = error else {
            Issue.record("expected missingKnownHosts, got \(String(describing: error))")
            return
        }
        #expect(host == "web1")
        #expect(path == missing)
        #expect(error?.description.contains("no known_hosts file at \(missing)") == true)
    }

    @Test("a changed host key is refused, naming the host and both fingerprints")
    func changedHostKey() async throws {
        let scratch = Lab.scratch()
        let other = try await makeKey(in: scratch, name: "other")
        let file = scratch + "/known_hosts"
        try "[127.0.0.1]:\(lab.port(1)) \(other.line)\n".write(toFile: file, atomically: true, encoding: .utf8)
        let error = await connectionError(lab.endpoint(1, knownHosts: file))
        guard case .hostKeyMismatch(let host, _, let expected, let actual, _) = error else {
            Issue.record("expected hostKeyMismatch, got \(String(describing: error))")
            return
        }
        #expect(host == "web1")
        #expect(expected == other.fingerprint)
        let served = try await hostFingerprint(1)
        #expect(actual == served)
    }

    @Test("hashed known_hosts entries are honoured")
    func hashedEntry() async throws {
        let scratch = Lab.scratch()
        let file = scratch + "/known_hosts"
        try FileManager.default.copyItem(atPath: lab.knownHosts, toPath: file)
        let (status, output) = await Lab.runProcess(["/usr/bin/ssh-keygen", "-H", "-f", file])
        #expect(status == 0, "\(output)")
        #expect(try String(contentsOfFile: file, encoding: .utf8).hasPrefix("|1|"))
        let executor = try await connect(lab.endpoint(2, knownHosts: file))
        #expect(try await executor.run(ShellCommand(literal: "true"), timeout: nil).succeeded)
        await executor.close()
    }

    @Test("a key marked @revoked is refused even when it is also listed as known")
    func revokedKey() async throws {
        let scratch = Lab.scratch()
        let file = scratch + "/known_hosts"
        let line = try String(contentsOfFile: lab.knownHosts, encoding: .utf8).split(separator: "\n")[0]
        try "\(line)\n@revoked * \(line.split(separator: " ").dropFirst().joined(separator: " "))\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let error = await connectionError(lab.endpoint(1, knownHosts: file))
        guard case .revokedHostKey = error else {
            Issue.record("expected revokedHostKey, got \(String(describing: error))")
            return
        }
    }

    @Test("accept-new records a new key, then still refuses a changed one")
    func acceptNew() async throws {
        let scratch = Lab.scratch()
        let file = scratch + "/known_hosts"
        let executor = try await connect(lab.endpoint(3, knownHosts: file, checking: .acceptNew))
        await executor.close()
        let recorded = try String(contentsOfFile: file, encoding: .utf8)
        let fingerprint = try await hostFingerprint(3)
        #expect(recorded.hasPrefix("[127.0.0.1]:\(lab.port(3)) ssh-ed25519 "))
        // Strict now accepts it: the recorded line is valid OpenSSH format.
        let strict = try await connect(lab.endpoint(3, knownHosts: file))
        await strict.close()
        let (status, _) = await Lab.runProcess(["/usr/bin/ssh-keygen", "-F", "[127.0.0.1]:\(lab.port(3))", "-f", file])
        #expect(status == 0)

        let other = try await makeKey(in: scratch, name: "other")
        try "[127.0.0.1]:\(lab.port(3)) \(other.line)\n".write(toFile: file, atomically: true, encoding: .utf8)
        let error = await connectionError(lab.endpoint(3, knownHosts: file, checking: .acceptNew))
        guard case .hostKeyMismatch(_, _, let expected, let actual, _) = error else {
            Issue.record("expected hostKeyMismatch, got \(String(describing: error))")
            return
        }
        #expect(expected == other.fingerprint)
        #expect(actual == fingerprint)
    }

    @Test("a closed port fails at once; a silent one within connect_timeout + 1 s")
    func unreachable() async throws {
        let closedPort = try freePort()
        let (refused, refusedAfter) = await timedConnectionError(HostEndpoint(
            name: "gone", address: "127.0.0.1", port: closedPort, user: "root",
            authentication: .identityFile(path: lab.identity, passphrase: nil), knownHostsPath: lab.knownHosts,
            connectTimeout: .seconds(1)))
        guard case .unreachable = refused else {
            Issue.record("expected unreachable, got \(String(describing: refused))")
            return
        }
        #expect(refusedAfter < .seconds(2))

        // A listener that accepts TCP but never speaks SSH.
        let (listener, port) = try silentListener()
        defer { close(listener) }
        let (silent, silentAfter) = await timedConnectionError(HostEndpoint(
            name: "silent", address: "127.0.0.1", port: port, user: "root",
            authentication: .identityFile(path: lab.identity, passphrase: nil), knownHostsPath: lab.knownHosts,
            connectTimeout: .seconds(1)))
        guard case .connectTimeout = silent else {
            Issue.record("expected connectTimeout, got \(String(describing: silent))")
            return
        }
        #expect(silentAfter < .seconds(2))
    }

    @Test("an upload of a few MB arrives with its sha256 checked and its mode set")
    func upload() async throws {
        let scratch = Lab.scratch()
        let local = scratch + "/payload.bin"
        var bytes = [UInt8](repeating: 0, count: 3 * 1024 * 1024 + 12345)
        for index in bytes.indices { bytes[index] = UInt8(truncatingIfNeeded: index &* 2654435761 >> 7) }
        _ = FileManager.default.createFile(atPath: local, contents: Data(bytes))
        let executor = try await connect(lab.endpoint(2))
        let remote = lab.hostDirectory(2) + "/payload.bin"
        let result = try await executor.upload(localPath: local, remotePath: remote, mode: 0o640)
        #expect(result.bytes == bytes.count)
        #expect(result.sha256 == (try await sha256sum(local)))
        let check = try await executor.run(ShellCommand(literal: "stat -c %a \(remote); ls \(lab.hostDirectory(2)) | grep -c marshal-tmp || true"), timeout: .seconds(5))
        #expect(check.stdoutText == "640\n0\n")
        // Overwriting an existing file works too (rename over it).
        let again = try await executor.upload(localPath: local, remotePath: remote, mode: 0o600)
        #expect(again.sha256 == result.sha256)
        // A missing parent directory is a clear upload error.
        await #expect(throws: TransportError.self) {
            _ = try await executor.upload(localPath: local, remotePath: lab.hostDirectory(2) + "/no/such/dir/f", mode: 0o600)
        }
        await executor.close()
    }

    @Test("a jump through one lab host reaches another")
    func jump() async throws {
        let endpoint = lab.endpoint(2, jump: .via(lab.endpoint(1)))
        let executor = try await connect(endpoint)
        let result = try await executor.run(ShellCommand(literal: "echo $MARSHAL_LAB_HOST"), timeout: .seconds(5))
        #expect(result.stdoutText == "web2\n")
        let big = try await executor.run(ShellCommand(literal: "head -c 3000000 /dev/zero"), timeout: .seconds(20))
        #expect(big.stdout.count == 3_000_000)
        await executor.close()
    }

    @Test("an RSA identity is refused with unsupportedKey explaining SHA-1")
    func rsaKey() async throws {
        let scratch = Lab.scratch()
        let (status, output) = await Lab.runProcess(["/usr/bin/ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", scratch + "/id_rsa"])
        #expect(status == 0, "\(output)")
        // Without the .pub too: the private key's own header must give it away.
        try FileManager.default.removeItem(atPath: scratch + "/id_rsa.pub")
        let error = await connectionError(lab.endpoint(1, identity: scratch + "/id_rsa"))
        guard case .unsupportedKey(_, _, let reason) = error else {
            Issue.record("expected unsupportedKey, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("SHA-1"))
    }

    @Test("an ECDSA identity with a passphrase authenticates")
    func ecdsaWithPassphrase() async throws {
        let scratch = Lab.scratch()
        let key = scratch + "/id_ecdsa"
        let (status, output) = await Lab.runProcess(["/usr/bin/ssh-keygen", "-q", "-t", "ecdsa", "-N", "s3cret pass", "-f", key])
        #expect(status == 0, "\(output)")
        let authorized = lab.directory + "/authorized_keys"
        let original = try String(contentsOfFile: authorized, encoding: .utf8)
        defer { try? original.write(toFile: authorized, atomically: true, encoding: .utf8) }
        try (original + (try String(contentsOfFile: key + ".pub", encoding: .utf8))).write(toFile: authorized, atomically: true, encoding: .utf8)
        var endpoint = lab.endpoint(4)
        endpoint.authentication = .identityFile(path: key, passphrase: Secret(name: "key", value: "s3cret pass"))
        let executor = try await connect(endpoint)
        #expect(try await executor.run(ShellCommand(literal: "true"), timeout: nil).succeeded)
        await executor.close()
        endpoint.authentication = .identityFile(path: key, passphrase: Secret(name: "key", value: "wrong"))
        let error = await connectionError(endpoint)
        guard case .unsupportedKey = error else {
            Issue.record("expected unsupportedKey for a wrong passphrase, got \(String(describing: error))")
            return
        }
    }

    @Test("200 sequential commands on one session all finish", .timeLimit(.minutes(1)))
    func manySequentialCommands() async throws {
        let executor = try await connect(lab.endpoint(4))
        for index in 0..<200 {
            let result = try await executor.run(ShellCommand(literal: "echo \(index)"), timeout: .seconds(10))
            #expect(result.stdoutText == "\(index)\n")
            #expect(result.ending == .exited(0))
        }
        await executor.close()
    }

    @Test("commands on one executor may be issued concurrently; they are served in turn")
    func concurrentCallers() async throws {
        let executor = try await connect(lab.endpoint(1))
        let outputs = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<20 {
                group.addTask { try await executor.run(ShellCommand(literal: "echo \(index)"), timeout: .seconds(10)).stdoutText }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(outputs.count == 20)
        await executor.close()
    }

    // MARK: helpers

    private func hostFingerprint(_ index: Int) async throws -> String {
        let (status, output) = await Lab.runProcess(["/usr/bin/ssh-keygen", "-l", "-E", "sha256", "-f",
                                               lab.hostDirectory(index) + "/ssh_host_ed25519_key.pub"])
        let fields = output.split(separator: " ")
        guard status == 0, fields.count >= 2 else { throw LabError(message: output) }
        return String(fields[1])
    }

    private func makeKey(in directory: String, name: String) async throws -> (line: String, fingerprint: String) {
        let path = directory + "/" + name
        let (status, output) = await Lab.runProcess(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path])
        guard status == 0 else { throw LabError(message: output) }
        let pub = try String(contentsOfFile: path + ".pub", encoding: .utf8).split(separator: " ")
        let (_, print) = await Lab.runProcess(["/usr/bin/ssh-keygen", "-l", "-E", "sha256", "-f", path + ".pub"])
        let fields = print.split(separator: " ")
        guard pub.count >= 2, fields.count >= 2 else { throw LabError(message: "unexpected ssh-keygen output: \(print)") }
        return ("\(pub[0]) \(pub[1])", String(fields[1]))
    }
}

/// A port nothing listens on (bound, read, released).
func freePort() throws -> Int {
    let (fd, port) = try silentListener()
    close(fd)
    return port
}

/// A TCP listener on 127.0.0.1 that never accepts; the kernel completes handshakes into its backlog.
func silentListener() throws -> (Int32, Int) {
    guard let (fd, port) = Loopback.bound(listening: true) else { throw LabError(message: "cannot listen") }
    return (fd, port)
}
