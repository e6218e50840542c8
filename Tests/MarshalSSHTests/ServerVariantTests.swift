import Foundation
import MarshalTestSupport
import MarshalCore
import Testing
@testable import MarshalSSH

/// One extra sshd, configured like a lab host plus some lines, on a free port; stopped by PID.
final class VariantServer {
    let process: ChildProcess
    let port: Int
    let directory: String

    init(lab: Lab, extraConfig: String, dropHostKeys: Bool = false) async throws {
        directory = Lab.scratch()
        let port = try freePort()
        self.port = port
        let base = try String(contentsOfFile: lab.hostDirectory(4) + "/sshd_config", encoding: .utf8)
        let config = base.split(separator: "\n")
            .filter { !(dropHostKeys && $0.hasPrefix("HostKey ")) }
            .map { $0.hasPrefix("Port ") ? "Port \(port)" : String($0) }
            .joined(separator: "\n") + "\n" + extraConfig + "\n"
        try config.write(toFile: directory + "/sshd_config", atomically: true, encoding: .utf8)
        process = try ChildProcess(["/usr/sbin/sshd", "-D", "-f", directory + "/sshd_config", "-E", directory + "/sshd.log"])
        let deadline = ContinuousClock.now + .seconds(10)
        // A bad config makes sshd exit at once: say so now rather than after the deadline.
        while ContinuousClock.now < deadline && process.poll() == nil {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if connected == 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        stop()
        throw LabError(message: "variant sshd did not start: \((try? String(contentsOfFile: directory + "/sshd.log", encoding: .utf8)) ?? "")")
    }

    func stop() { process.stop() }

    deinit { stop() }
}

@Suite("SSH server variants", .serialized)
struct ServerVariantTests {
    let lab: Lab
    let connector = SSHConnector()

    init() async throws { lab = try await Lab.shared() }

    private func endpoint(port: Int, knownHosts: String) -> HostEndpoint {
        HostEndpoint(name: "variant", address: "127.0.0.1", port: port, user: "root",
                     authentication: .identityFile(path: lab.identity, passphrase: nil),
                     knownHostsPath: knownHosts, connectTimeout: .seconds(5))
    }

    @Test("a server offering ECDSA and ed25519, with only ed25519 in known_hosts, is verified")
    func hostKeyPreference() async throws {
        let scratch = Lab.scratch()
        let (status, output) = await Lab.runProcess(["/usr/bin/ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", scratch + "/ecdsa_host"])
        #expect(status == 0, "\(output)")
        // ECDSA first in the config: sshd offers both, and libssh2 alone would pick ECDSA.
        let base = try String(contentsOfFile: lab.hostDirectory(4) + "/sshd_config", encoding: .utf8)
        let edKey = base.split(separator: "\n").first { $0.hasPrefix("HostKey ") }.map(String.init) ?? ""
        let server = try await VariantServer(lab: lab, extraConfig: "HostKey \(scratch)/ecdsa_host\n\(edKey)")
        defer { server.stop() }
        let pub = try String(contentsOfFile: lab.hostDirectory(4) + "/ssh_host_ed25519_key.pub", encoding: .utf8)
            .split(separator: " ").prefix(2).joined(separator: " ")
        let known = scratch + "/known_hosts"
        try "[127.0.0.1]:\(server.port) \(pub)\n".write(toFile: known, atomically: true, encoding: .utf8)
        let executor = try await connector.connect(endpoint(port: server.port, knownHosts: known))
        #expect(try await executor.run(ShellCommand(literal: "true"), timeout: .seconds(5)).succeeded)
        await executor.close()
    }

    @Test("a server now offering only ECDSA, known by its ed25519 key, is a changed key under accept-new and strict (issue 12 item 4)")
    func keyTypeSwap() async throws {
        let scratch = Lab.scratch()
        let (status, output) = await Lab.runProcess(["/usr/bin/ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", scratch + "/ecdsa_host"])
        #expect(status == 0, "\(output)")
        // Only the ECDSA key: the base config's ed25519 HostKey line is dropped.
        let server = try await VariantServer(lab: lab, extraConfig: "HostKey \(scratch)/ecdsa_host", dropHostKeys: true)
        defer { server.stop() }
        let pub = try String(contentsOfFile: lab.hostDirectory(4) + "/ssh_host_ed25519_key.pub", encoding: .utf8)
            .split(separator: " ").prefix(2).joined(separator: " ")
        let known = scratch + "/known_hosts"
        let original = "[127.0.0.1]:\(server.port) \(pub)\n"
        try original.write(toFile: known, atomically: true, encoding: .utf8)
        for checking in [HostEndpoint.HostKeyChecking.acceptNew, .strict] {
            var endpoint = endpoint(port: server.port, knownHosts: known)
            endpoint.hostKeyChecking = checking
            do {
                let executor = try await connector.connect(endpoint)
                await executor.close()
                Issue.record("connected (\(checking)) although the host is known by another key")
            } catch {
                guard case .hostKeyMismatch(_, let type, let expected, _, _) = error else {
                    Issue.record("expected hostKeyMismatch, got \(error)")
                    continue
                }
                #expect(type == "ecdsa-sha2-nistp256")
                #expect(expected.hasPrefix("ssh-ed25519 SHA256:"))
            }
            #expect(try String(contentsOfFile: known, encoding: .utf8) == original, "known_hosts must not gain the new key")
        }
    }

    @Test("a server allowing only chacha20-poly1305 gives noCommonAlgorithm naming both lists")
    func noCommonAlgorithm() async throws {
        let server = try await VariantServer(lab: lab, extraConfig: "Ciphers chacha20-poly1305@openssh.com")
        defer { server.stop() }
        do {
            let executor = try await connector.connect(endpoint(port: server.port, knownHosts: lab.knownHosts))
            await executor.close()
            Issue.record("connected although no cipher is shared")
        } catch {
            guard case .noCommonAlgorithm(_, let detail) = error else {
                Issue.record("expected noCommonAlgorithm, got \(error)")
                return
            }
            #expect(detail.contains("cipher"))
            #expect(detail.contains("chacha20-poly1305@openssh.com"))
            #expect(detail.contains("aes128-ctr"))
        }
    }

    @Test("ssh-agent authentication works, and an unset SSH_AUTH_SOCK is a plain error")
    func agent() async throws {
        let scratch = Lab.scratch()
        let socketPath = scratch + "/agent.sock"
        let agent = try ChildProcess(["/usr/bin/ssh-agent", "-D", "-a", socketPath])
        defer { agent.stop() }
        let deadline = ContinuousClock.now + .seconds(5)
        while !FileManager.default.fileExists(atPath: socketPath) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let (added, output) = await Lab.runProcess(["/usr/bin/ssh-add", "-q", lab.identity], environment: ["SSH_AUTH_SOCK": socketPath])
        #expect(added == 0, "\(output)")

        let previous = ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"]
        defer {
            if let previous { setenv("SSH_AUTH_SOCK", previous, 1) } else { unsetenv("SSH_AUTH_SOCK") }
        }
        var endpoint = lab.endpoint(2)
        endpoint.authentication = .agent
        setenv("SSH_AUTH_SOCK", socketPath, 1)
        let executor = try await connector.connect(endpoint)
        #expect(try await executor.run(ShellCommand(literal: "true"), timeout: .seconds(5)).succeeded)
        await executor.close()

        unsetenv("SSH_AUTH_SOCK")
        do {
            let executor = try await connector.connect(endpoint)
            await executor.close()
            Issue.record("connected through an agent without SSH_AUTH_SOCK")
        } catch {
            guard case .authenticationFailed(_, _, let reason) = error else {
                Issue.record("expected authenticationFailed, got \(error)")
                return
            }
            #expect(reason.contains("SSH_AUTH_SOCK"))
        }
    }
}
