import ArgumentParser
import Foundation
import MarshalCore

extension MarshalCommand {
    /// `marshal check -e ENV`: reach and authenticate to every host at once, and say how each went.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Can we reach and authenticate to every host? Reports each within connect_timeout.",
            discussion: "Exit 0 when every host answered and authenticated, 3 otherwise."
        )

        @Option(name: .shortAndLong, help: "Environment name (Environments/NAME.yml) or path.")
        var environment: String

        @Option(help: "text or json.")
        var output: OutputFormat = .text

        struct HostReport: Encodable {
            var host: String
            var address: String
            var status: String
            var seconds: Double
            var message: String?
        }

        func run() async throws {
            let environment = try Inputs().environment(self.environment)
            let secrets = SecretResolver().resolve(environment.secrets, strict: false).secrets
            let connector = TransportRouter()
            let reports = await withTaskGroup(of: HostReport.self) { group in
                for host in environment.hosts {
                    group.addTask {
                        let endpoint = EndpointBuilder.endpoint(for: host, in: environment, secrets: secrets)
                        let start = ContinuousClock.now
                        do throws(TransportError) {
                            let executor = try await connector.connect(endpoint)
                            let probe = try await executor.run(ShellCommand(literal: "true"), timeout: .seconds(10))
                            await executor.close()
                            let status = probe.succeeded ? "ok" : "command-failed"
                            return HostReport(host: host.name, address: "\(host.address):\(host.port)", status: status,
                                              seconds: (ContinuousClock.now - start).seconds, message: nil)
                        } catch {
                            return HostReport(host: host.name, address: "\(host.address):\(host.port)", status: Self.status(of: error),
                                              seconds: (ContinuousClock.now - start).seconds, message: error.description)
                        }
                    }
                }
                var all: [HostReport] = []
                for await report in group { all.append(report) }
                return all.sorted { a, b in
                    (environment.hosts.firstIndex { $0.name == a.host } ?? 0) < (environment.hosts.firstIndex { $0.name == b.host } ?? 0)
                }
            }
            switch output {
            case .json: Terminal.stdout(try JSONOutput.encode(reports))
            case .text:
                for r in reports {
                    Terminal.stdout("\(r.host)  \(r.address)  \(r.status)  \(String(format: "%.0f ms", r.seconds * 1000))\(r.message.map { "  \($0)" } ?? "")")
                }
            }
            if reports.contains(where: { $0.status != "ok" }) { throw ExitCode.couldNotStart }
        }

        static func status(of error: TransportError) -> String {
            switch error {
            case .connectTimeout: "timeout"
            case .unreachable: "refused"
            case .hostKeyMismatch: "host-key-mismatch"
            case .unknownHostKey: "unknown-host-key"
            case .revokedHostKey: "revoked-host-key"
            case .authenticationFailed, .unsupportedKey: "auth-failed"
            case .noCommonAlgorithm, .handshakeFailed: "handshake-failed"
            default: "error"
            }
        }
    }
}
