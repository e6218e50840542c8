import Foundation
import MarshalCore

/// Hosts that answer commands from a script instead of a shell. Every command any host runs is
/// logged in the order the hosts ran them, so a test can check rollback order and scope.
final class FakeHosts: Connector, @unchecked Sendable {
    struct Rule {
        var host: String?
        var contains: String
        /// Exit statuses given in turn; the last one repeats.
        var exits: [Int32]
        var stdout: [String]
        var used = 0
    }

    struct Sent: Hashable {
        var host: String
        var command: String
    }

    private let lock = NSLock()
    private var rules: [Rule] = []
    private var sent: [Sent] = []
    private var unreachableHosts: Set<String> = []
    private var hooks: [(contains: String, action: @Sendable () async -> Void)] = []

    /// A command containing `text` (on `host`, or on any host) exits with these statuses in turn
    /// and prints these lines in turn (the last of each repeats). Later rules win.
    func on(_ text: String, host: String? = nil, exit: [Int32] = [0], stdout: [String] = [""]) {
        locked { rules.append(Rule(host: host, contains: text, exits: exit, stdout: stdout)) }
    }

    /// Runs `action` while a command containing `text` runs (before it answers): a fault at that point.
    func whenRunning(_ text: String, _ action: @escaping @Sendable () async -> Void) {
        locked { hooks.append((text, action)) }
    }

    /// The host refuses connections: the run counts it as a failed host.
    func unreachable(_ host: String) { locked { _ = unreachableHosts.insert(host) } }

    /// Every command run so far, in order.
    var log: [Sent] { locked { sent } }

    /// The commands one host ran, in order.
    func commands(on host: String) -> [String] { log.filter { $0.host == host }.map(\.command) }

    /// The hosts that ran a command containing `text`, in the order they ran it.
    func hosts(running text: String) -> [String] { log.filter { $0.command.contains(text) }.map(\.host) }

    func connect(_ endpoint: HostEndpoint) async throws(TransportError) -> any RemoteExecutor {
        if locked({ unreachableHosts.contains(endpoint.name) }) {
            throw .unreachable(host: endpoint.name, address: endpoint.address, port: endpoint.port, reason: "connection refused")
        }
        return Executor(hostName: endpoint.name, hosts: self)
    }

    fileprivate func answer(_ command: ShellCommand, host: String) -> CommandResult {
        let text = command.display
        let (exit, stdout): (Int32, String) = locked {
            sent.append(Sent(host: host, command: text))
            guard let index = rules.lastIndex(where: { ($0.host == nil || $0.host == host) && text.contains($0.contains) }) else {
                return (0, "")
            }
            let rule = rules[index]
            rules[index].used += 1
            return (rule.exits[min(rule.used, rule.exits.count - 1)], rule.stdout[min(rule.used, rule.stdout.count - 1)])
        }
        return CommandResult(stdout: Array(stdout.utf8), stderr: exit == 0 ? [] : Array("failed on \(host)\n".utf8),
                             ending: .exited(exit), duration: .milliseconds(1))
    }

    fileprivate func hooks(for command: String) -> [@Sendable () async -> Void] {
        locked { hooks.filter { command.contains($0.contains) }.map(\.action) }
    }

    fileprivate func uploaded(_ local: String, to remote: String, host: String) {
        locked { sent.append(Sent(host: host, command: "upload \(local) → \(remote)")) }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private struct Executor: RemoteExecutor {
        var hostName: String
        var hosts: FakeHosts

        func run(_ command: ShellCommand, timeout: Duration?) async throws(TransportError) -> CommandResult {
            for action in hosts.hooks(for: command.display) { await action() }
            return hosts.answer(command, host: hostName)
        }

        func upload(localPath: String, remotePath: String, mode: Int32) async throws(TransportError) -> UploadResult {
            hosts.uploaded(localPath, to: remotePath, host: hostName)
            return UploadResult(bytes: 1024, sha256: String(repeating: "ab", count: 32), duration: .milliseconds(1))
        }

        func close() async {}
    }
}
