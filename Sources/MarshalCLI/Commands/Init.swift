import ArgumentParser
import Foundation
import MarshalCore

extension MarshalCommand {
    /// `marshal init`: a working skeleton (environment, rollout runbook, schemas) in a folder, as
    /// `kamal init` gives; values come from flags, or are asked for on a terminal.
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a starting project: an environment for your hosts and a rollout runbook that validate and plan at once.",
            discussion: "Writes Environments/ENV.yml, Runbooks/rollout.yml and schemas/ into --dir. Missing values are asked for on a terminal; without one, --host is required. Existing files are never overwritten."
        )

        @Option(help: "The project folder.", completion: .directory)
        var dir: String = "."

        @Option(name: .customLong("env"), help: "The environment's name.")
        var environment: String?

        @Option(name: .customLong("host"), help: "A web host as NAME=ADDRESS[:PORT] (repeatable).")
        var hosts: [String] = []

        @OptionGroup(title: "SSH") var ssh: SSHAnswers
        @OptionGroup(title: "Application") var app: ApplicationAnswers
        @OptionGroup(title: "Service") var process: ServiceAnswers
        @OptionGroup(title: "Database") var database: DatabaseAnswers

        func run() async throws {
            var answers = self
            try answers.askForMissing()
            let skeleton = try answers.skeleton()
            let fm = FileManager.default
            for (path, _) in skeleton where fm.fileExists(atPath: dir + "/" + path) {
                Terminal.stderr("error: \(dir)/\(path) exists; init writes only new files (move it away or pick another --dir)")
                throw ExitCode.invalidInput
            }
            do {
                for (path, text) in skeleton {
                    let full = dir + "/" + path
                    try fm.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                    try text.write(toFile: full, atomically: true, encoding: .utf8)
                    Terminal.stdout("wrote \(full)")
                }
            } catch {
                Terminal.stderr("error: cannot write in \(dir): \(error.localizedDescription)")
                throw ExitCode.invalidInput
            }
            let env = answers.environment ?? "staging"
            Terminal.stdout("""

            next:
              marshal validate -e \(env)
              marshal plan rollout -e \(env) -p release=v1
              marshal run rollout -e \(env) -p release=v1 --report report.md
            """)
        }

        /// Fills what flags left out by asking on a terminal; without one, --host is required.
        mutating func askForMissing(prompt: any Prompt = TerminalPrompt()) throws {
            guard prompt.isInteractive else {
                if hosts.isEmpty { throw ValidationError("--host NAME=ADDRESS[:PORT] is required when not on a terminal") }
                return
            }
            func ask(_ question: String, _ fallback: String) -> String {
                let answer = (prompt.ask("\(question) [\(fallback)]: ") ?? "").trimmingCharacters(in: .whitespaces)
                return answer.isEmpty ? fallback : answer
            }
            if environment == nil { environment = ask("Environment name", "staging") }
            if hosts.isEmpty { hosts = ask("Web hosts (NAME=ADDRESS[:PORT], comma-separated)", "web1=10.0.0.11").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            if ssh.user == nil { ssh.user = ask("SSH user", "deploy") }
            if ssh.identity == nil { ssh.identity = ask("SSH private key", "~/.ssh/id_ed25519") }
            if app.appDir == nil { app.appDir = ask("Application folder on the hosts", "/srv/app") }
            if app.baseURL == nil { app.baseURL = ask("Application URL", "http://\(Self.address(hosts.first ?? "")):8080") }
            if process.manager == nil { process.manager = ask("Process manager (pm2, systemd, supervisor)", "systemd") }
            if process.service == nil { process.service = ask("Service name", "app") }
        }

        static func address(_ spec: String) -> String {
            String(spec.split(separator: "=", maxSplits: 1).last ?? "").split(separator: ":").first.map(String.init) ?? "127.0.0.1"
        }

        /// `NAME=ADDRESS[:PORT]` as an environment's host line.
        static func hostLine(_ spec: String, role: String) throws -> String {
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, StepName.isIdentifierLike(parts[0]) else {
                throw ValidationError("a host is NAME=ADDRESS[:PORT], such as web1=10.0.0.11:22; got '\(spec)'")
            }
            let addressPort = parts[1].split(separator: ":").map(String.init)
            var line = "  \(parts[0]): { address: \(YAMLText.quoted(addressPort[0]))"
            if addressPort.count == 2 {
                guard let port = Int(addressPort[1]), (1...65535).contains(port) else { throw ValidationError("port in '\(spec)' must be 1 to 65535") }
                line += ", port: \(port)"
            }
            return line + ", roles: [\(role)] }"
        }

        func skeleton() throws -> [(String, String)] {
            let env = environment ?? "staging"
            guard StepName.isIdentifierLike(env) else { throw ValidationError("--env must be a plain name such as staging; got '\(env)'") }
            let manager = process.manager ?? "systemd"
            guard ["pm2", "systemd", "supervisor"].contains(manager) else { throw ValidationError("--manager must be pm2, systemd or supervisor; got '\(manager)'") }
            if database.dbHost != nil, database.databaseURLFile == nil { throw ValidationError("--db-host needs --database-url-file (the database URL is a secret, never written in the environment)") }
            let q = YAMLText.quoted
            var environmentText = """
            # yaml-language-server: $schema=../schemas/environment.schema.json
            version: 1
            environment: \(env)
            ssh:
              user: \(q(ssh.user ?? "deploy"))
              identity: \(q(ssh.identity ?? "~/.ssh/id_ed25519"))
              known_hosts: \(q(ssh.knownHosts ?? "~/.ssh/known_hosts"))
              host_key_checking: strict
            hosts:

            """
            for host in hosts { environmentText += try Self.hostLine(host, role: "web") + "\n" }
            if let dbHost = database.dbHost { environmentText += try Self.hostLine(dbHost, role: "db") + "\n" }
            environmentText += """
            vars:
              app_dir: \(q(app.appDir ?? "/srv/app"))
              base_url: \(q(app.baseURL ?? "http://\(Self.address(hosts.first ?? "")):8080"))
              health_path: \(q(app.healthPath))
              process_manager: \(manager)
              service_name: \(q(process.service ?? "app"))

            """
            if let supervisorConfig = process.supervisorConfig { environmentText += "  supervisor_config: \(q(supervisorConfig))\n" }
            if let databaseURLFile = database.databaseURLFile { environmentText += "secrets:\n  database_url: { file: \(q(databaseURLFile)) }\n" }

            let config = process.supervisorConfig == nil ? "" : ", config: \"{{ vars.supervisor_config }}\""
            let serviceLine = "service: { manager: \"{{ vars.process_manager }}\", action: restart, name: \"{{ vars.service_name }}\"\(config) }"
            var steps = ""
            if database.dbHost != nil {
                steps += """
                  - id: backup
                    name: Back up the database
                    backup: { on: db, database: "{{ secrets.database_url }}" }

                """
            }
            steps += """
              - id: ship
                name: Ship the release
                release: { artifact: "{{ params.artifact_dir }}/app-{{ params.release }}.tar.gz", path: "{{ vars.app_dir }}", id: "{{ params.release }}", keep: 5 }
                # On rollback `current` switches back to the previous release; then this restarts it.
                undo:
                  \(serviceLine)
              - id: restart
                name: Restart the service
                \(serviceLine)
              - name: Healthy
                health: { url: "{{ vars.base_url }}{{ vars.health_path }}", expect: 200, within: 30s }
              - name: Load gate
                benchmark:
                  base_url: "{{ vars.base_url }}"
                  phases: [ { name: steady, duration: 10s, rate: 5 } ]
                  scenarios: [ { get: "{{ vars.health_path }}" } ]
                  thresholds: { p95: "< 500ms", error_rate: "< 1%" }

            """
            let runbookText = """
            # yaml-language-server: $schema=../schemas/runbook.schema.json
            # Written by `marshal init`. Every key: docs/reference/ in Marshal's repository, or `marshal docs`.
            version: 1
            runbook: rollout
            description: Ship a release to the web hosts, one canary first, gated on health and latency; roll back on failure.
            params:
              release: { type: string, required: true, description: "The release to ship: \(app.artifactDir)/app-RELEASE.tar.gz" }
              artifact_dir: { type: string, default: \(q(app.artifactDir)) }
            targets: web
            strategy:
              batches: [1, "100%"]
              max_failures: 0
            steps:
            \(steps)on_failure: rollback

            """
            return [
                ("Environments/\(env).yml", environmentText),
                ("Runbooks/rollout.yml", runbookText),
                ("schemas/runbook.schema.json", JSONSchema.generate(.runbook)),
                ("schemas/environment.schema.json", JSONSchema.generate(.environment)),
            ]
        }
    }
}

/// Values written into generated YAML: double-quoted with JSON escaping (JSON strings are YAML strings).
enum YAMLText {
    static func quoted(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        let array = String(decoding: data, as: UTF8.self)
        return String(array.dropFirst().dropLast())
    }
}

enum StepName {
    static func isIdentifierLike(_ text: String) -> Bool {
        guard let first = text.first, first.isLetter else { return false }
        return text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
    }
}
