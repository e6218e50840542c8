import ArgumentParser
import Foundation
import MarshalCore
import MarshalHTTP

extension MarshalCommand {
    /// `marshal check -e ENV`: reach and authenticate to every host at once, and say how each went.
    struct Check: AsyncParsableCommand, NamesEnvironment, AnswersInFormat {
        static let configuration = CommandConfiguration(
            abstract: "Can we reach and authenticate to every host? Reports each within connect_timeout.",
            discussion: "Exit 0 when every host answered and authenticated (and, with --health, every health URL answered 2xx); 3 when a host could not be reached or authenticated; 1 when only a health URL failed."
        )

        @OptionGroup var environmentOption: EnvironmentOption

        @Option(help: "Also GET this path (e.g. /api/health) on each host's vars.base_url and on the environment's, from this machine.")
        var health: String?

        @OptionGroup var outputOptions: OutputOptions

        struct HostReport: Encodable {
            var host: String
            var address: String
            var status: String
            var seconds: Double
            var message: String?
            var health: HealthReport?
        }

        /// One health URL's answer: its status, or why there was none.
        struct HealthReport: Encodable {
            var url: String
            var status: Int?
            var seconds: Double
            var message: String?
            /// A 2xx answer.
            var passed: Bool

            var text: String {
                let answer = status.map { "health \($0)" } ?? "health failed"
                return "\(answer) \(String(format: "%.1f ms", seconds * 1000)) \(url)\(message.map { "  \($0)" } ?? "")"
            }
        }

        /// GETs `base` + `path` with the environment's connect timeout; never throws.
        static func probe(base: String, path: String, connectTimeout: Duration) async -> HealthReport {
            let url = (base.hasSuffix("/") ? String(base.dropLast()) : base) + (path.hasPrefix("/") ? path : "/" + path)
            let request = HTTPRequest(url: url, timeout: connectTimeout + .seconds(5), connectTimeout: connectTimeout)
            let start = ContinuousClock.now
            do throws(HTTPError) {
                let response = try await CurlHTTPClient().send(request)
                let passed = (200..<300).contains(response.status)
                return HealthReport(url: request.displayURL, status: response.status, seconds: (ContinuousClock.now - start).seconds,
                                    message: passed ? nil : "expected a 2xx answer", passed: passed)
            } catch {
                return HealthReport(url: request.displayURL, status: nil, seconds: (ContinuousClock.now - start).seconds,
                                    message: error.description, passed: false)
            }
        }

        /// A `base_url` var given as plain text (templates are for runbooks; check does not render them).
        static func baseURL(_ vars: [ConfigEntry]) -> String? {
            guard let entry = vars.last(where: { $0.key == "base_url" }), case .string(let text) = entry.value,
                  !text.contains("{{") else { return nil }
            return text
        }

        func run() async throws {
            let environment = try Inputs().environment(self.environment)
            let secrets = SecretResolver().resolve(environment.secrets, strict: false).secrets
            let connector = TransportRouter()
            let reports = await withTaskGroup(of: HostReport.self) { group in
                for host in environment.hosts {
                    group.addTask {
                        let endpoint = EndpointBuilder.endpoint(for: host, in: environment, secrets: secrets,
                                                                  processEnvironment: ProcessInfo.processInfo.environment)
                        var healthReport: HealthReport?
                        if let path = health, let base = Self.baseURL(host.vars) {
                            healthReport = await Self.probe(base: base, path: path, connectTimeout: environment.ssh.connectTimeout)
                        }
                        let start = ContinuousClock.now
                        do throws(TransportError) {
                            let executor = try await connector.connect(endpoint)
                            let probe = try await executor.run(ShellCommand(literal: "true"), timeout: .seconds(10))
                            await executor.close()
                            let status = probe.succeeded ? "ok" : "command-failed"
                            return HostReport(host: host.name, address: "\(host.address):\(host.port)", status: status,
                                              seconds: (ContinuousClock.now - start).seconds, message: nil, health: healthReport)
                        } catch {
                            return HostReport(host: host.name, address: "\(host.address):\(host.port)", status: Self.status(of: error),
                                              seconds: (ContinuousClock.now - start).seconds, message: error.description, health: healthReport)
                        }
                    }
                }
                var all: [HostReport] = []
                for await report in group { all.append(report) }
                return all.sorted { a, b in
                    (environment.hosts.firstIndex { $0.name == a.host } ?? 0) < (environment.hosts.firstIndex { $0.name == b.host } ?? 0)
                }
            }
            // The environment's own base_url (a load balancer in front of the hosts), once.
            var front: HealthReport?
            if let path = health, let base = Self.baseURL(environment.vars) {
                front = await Self.probe(base: base, path: path, connectTimeout: environment.ssh.connectTimeout)
            }
            switch output {
            case .json:
                Terminal.stdout(try JSONOutput.encode(CheckReport(hosts: reports, environmentHealth: front)))
            case .text:
                for r in reports {
                    Terminal.stdout(quoting: "\(r.host)  \(r.address)  \(r.status)  \(String(format: "%.0f ms", r.seconds * 1000))\(r.message.map { "  \($0)" } ?? "")\(r.health.map { "  \($0.text)" } ?? "")")
                }
                if let front { Terminal.stdout(quoting: "environment  \(front.text)") }
                if health != nil && front == nil && !reports.contains(where: { $0.health != nil }) {
                    Terminal.stderr("note: --health found no plain base_url in the environment's or any host's vars; no URL was checked")
                }
            }
            if reports.contains(where: { $0.status != "ok" }) { throw ExitCode.couldNotStart }
            if reports.contains(where: { $0.health.map { !$0.passed } ?? false }) || front.map({ !$0.passed }) == true {
                throw ExitCode.stepFailed
            }
        }

        struct CheckReport: Encodable {
            var hosts: [HostReport]
            var environmentHealth: HealthReport?
        }

        static func status(of error: TransportError) -> String {
            switch error {
            case .connectTimeout: "timeout"
            case .unreachable: "refused"
            case .hostKeyMismatch: "host-key-mismatch"
            case .unknownHostKey, .missingKnownHosts: "unknown-host-key"
            case .revokedHostKey: "revoked-host-key"
            case .authenticationFailed, .unsupportedKey: "auth-failed"
            case .noCommonAlgorithm, .handshakeFailed: "handshake-failed"
            default: "error"
            }
        }
    }
}
