import Foundation
import MarshalCore
import Yams

/// Decodes an environment file (DESIGN.md "Environment file") into `Environment`.
struct EnvironmentDecoder {
    let reader: NodeReader
    let path: String

    func decode(_ root: Node) -> Environment? {
        guard let (map, name) = VersionCheck.header(root, "the environment file", FileDeclarations.environment, name: "environment", reader: reader) else { return nil }
        var environment = Environment(name: name, path: path, location: map.location)
        environment.protected = map.bool("protected") ?? false
        if let transport = map.choice("transport", as: Transport.self) { environment.transport = transport }
        if let state = map.node("state") { environment.state = decodeState(state) }
        environment.lockHost = map.string("lock_host")
        if let ssh = map.node("ssh") { environment.ssh = decodeSSH(ssh) }
        if let vars = map.node("vars") { environment.vars = reader.configEntries(vars, "'vars'") }
        if let secrets = map.node("secrets") { environment.secrets = decodeSecrets(secrets) }
        if let hosts = map.node("hosts", required: true, expected: "a mapping of host names to { address, port, roles, vars }") {
            environment.hosts = decodeHosts(hosts)
        }
        map.accept(["description"])
        map.finish()
        checkReferences(environment, map: map)
        refuseTemplates(in: environment)
        return environment
    }

    /// `state: FOLDER`, `state: postgresql://USER@HOST/DB` (no password) or `state: { env: VARIABLE }`.
    private func decodeState(_ node: Node) -> StateSource? {
        if case .mapping = node {
            guard let map = reader.mapping(node, "'state'")?.declare(FileDeclarations.environment.nested("state")) else { return nil }
            let variable = map.string("env", required: true)
            map.finish()
            return variable.map { .environmentVariable($0) }
        }
        guard let text = reader.string(node, "'state'") else { return nil }
        if StateSource.urlHasPassword(text) {
            reader.error("'state' holds a password written in the file; put the URL in an environment variable and write state: { env: VARIABLE } (or leave the password out and use PGPASSWORD or ~/.pgpass)", at: node)
            return nil
        }
        return .literal(text)
    }

    private func decodeSSH(_ node: Node) -> SSHSettings {
        var ssh = SSHSettings(location: reader.location(of: node))
        guard let map = reader.mapping(node, "'ssh'")?.declare(FileDeclarations.ssh) else { return ssh }
        ssh.user = map.string("user")
        ssh.identity = map.string("identity").map(relativeToFile)
        ssh.passphraseSecret = map.string("passphrase_secret")
        ssh.agent = map.bool("agent") ?? false
        ssh.knownHosts = map.string("known_hosts").map(relativeToFile)
        if let checking = map.node("host_key_checking") {
            if case .scalar(let s) = checking, ["no", "off", "false", "none", "ignore"].contains(s.string.lowercased()) {
                reader.error("'host_key_checking' cannot be switched off; expected strict or accept-new", at: checking)
            } else if let value = reader.choice(checking, "'host_key_checking'", as: HostKeyCheckingChoice.self) {
                ssh.hostKeyChecking = value == .strict ? .strict : .acceptNew
            }
        }
        ssh.jump = map.string("jump")
        if let timeout = map.duration("connect_timeout") { ssh.connectTimeout = timeout }
        if let interval = map.duration("keepalive_interval") { ssh.keepaliveInterval = interval }
        if let count = map.int("keepalive_count", min: 1) { ssh.keepaliveCount = count }
        map.finish()
        return ssh
    }

    /// A relative path in an environment file means a path beside that file (as Ansible's inventory
    /// and Kamal's config read them), not one in whatever folder marshal was started from.
    /// Absolute paths and `~/…` are kept as written.
    func relativeToFile(_ path: String) -> String {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.hasPrefix("~") else { return path }
        var folder = (self.path as NSString).deletingLastPathComponent
        if !folder.hasPrefix("/") {
            let cwd = FileManager.default.currentDirectoryPath
            folder = folder.isEmpty ? cwd : cwd + "/" + folder
        }
        let joined = ((folder as NSString).appendingPathComponent(path) as NSString).standardizingPath
        return joined
    }

    /// Environment values are data, not templates: `{{ env.X }}` in a var would reach commands as
    /// those literal characters, so it is refused here rather than at 3 a.m. in a shell.
    private func refuseTemplates(_ value: ConfigValue, _ what: String, at location: SourceLocation) {
        switch value {
        case .string(let text):
            guard let start = text.range(of: "{{") ?? text.range(of: "{%") else { return }
            let end = text[start.lowerBound...].range(of: "}}")?.upperBound ?? text[start.lowerBound...].range(of: "%}")?.upperBound ?? text.endIndex
            let shown = String(text[start.lowerBound..<end])
            reader.error("\(what) holds the template '\(shown)', but environment values are not rendered: it would reach commands as this literal text; write the value itself, or declare a secret { env: NAME } and use {{ secrets.NAME }} in the runbook", at: location)
        case .list(let items):
            for item in items { refuseTemplates(item, what, at: location) }
        case .map(let entries):
            for entry in entries { refuseTemplates(entry.value, "\(what).\(entry.key)", at: entry.location) }
        default:
            break
        }
    }

    private func refuseTemplates(in environment: Environment) {
        for entry in environment.vars { refuseTemplates(entry.value, "'vars.\(entry.key)'", at: entry.location) }
        for host in environment.hosts {
            refuseTemplates(.string(host.address), "'address' of host '\(host.name)'", at: host.location)
            if let user = host.user { refuseTemplates(.string(user), "'user' of host '\(host.name)'", at: host.location) }
            for entry in host.vars { refuseTemplates(entry.value, "'vars.\(entry.key)' of host '\(host.name)'", at: entry.location) }
        }
        let sshLocation = environment.ssh.location ?? environment.location
        for (key, value) in [("user", environment.ssh.user), ("identity", environment.ssh.identity),
                             ("known_hosts", environment.ssh.knownHosts), ("jump", environment.ssh.jump)] {
            if let value { refuseTemplates(.string(value), "'ssh.\(key)'", at: sshLocation) }
        }
    }

    private func decodeSecrets(_ node: Node) -> [SecretSource] {
        guard let map = reader.mapping(node, "'secrets'") else { return [] }
        var secrets: [SecretSource] = []
        for pair in map.pairs {
            let what = "secret '\(pair.key)'"
            guard let entry = reader.mapping(pair.value, what)?.declare(FileDeclarations.secret) else { continue }
            let env = entry.string("env")
            let file = entry.string("file")
            entry.finish()
            switch (env, file) {
            case (let env?, nil):
                secrets.append(SecretSource(name: pair.key, origin: .environmentVariable(env), location: pair.keyLocation))
            case (nil, let file?):
                secrets.append(SecretSource(name: pair.key, origin: .file(relativeToFile(file)), location: pair.keyLocation))
            case (nil, nil):
                reader.error("\(what) must say where its value comes from: { env: VARIABLE } or { file: PATH }; values are never written in the file", at: pair.value)
            default:
                reader.error("\(what) has both 'env' and 'file'; give exactly one", at: pair.value)
            }
        }
        map.accept(map.pairs.map(\.key))
        return secrets
    }

    private func decodeHosts(_ node: Node) -> [HostSpec] {
        guard let map = reader.mapping(node, "'hosts'") else { return [] }
        map.accept(map.pairs.map(\.key))
        var hosts: [HostSpec] = []
        for pair in map.pairs {
            let what = "host '\(pair.key)'"
            guard let entry = reader.mapping(pair.value, what)?.declare(FileDeclarations.host) else { continue }
            let address = entry.string("address", required: true) ?? "?"
            var host = HostSpec(name: pair.key, address: address, location: pair.keyLocation)
            if let portNode = entry.node("port"), let port = reader.int(portNode, "'port'", min: 1) {
                if port > 65535 { reader.error("'port' must be between 1 and 65535, found \(port)", at: portNode) } else { host.port = port }
            }
            host.user = entry.string("user")
            if let roles = entry.node("roles") {
                host.roles = reader.listOrSingle(roles).compactMap { reader.string($0, "a role of \(what)") }
            }
            if let vars = entry.node("vars") { host.vars = reader.configEntries(vars, "'vars' of \(what)") }
            host.transport = entry.choice("transport", as: Transport.self)
            entry.finish()
            hosts.append(host)
        }
        return hosts
    }

    private func checkReferences(_ environment: Environment, map: MapReader) {
        if let jump = environment.ssh.jump, environment.host(named: jump) == nil, jump.contains("{{") == false,
           environment.ssh.location != nil {
            // A jump host may be an address outside the file; only a name that looks like a host name
            // without dots is checked, since that is clearly meant to refer to `hosts`.
            if !jump.contains("."), !jump.contains(":") {
                reader.error("'jump' names '\(jump)', which is not a host of this environment\(Suggestion.hint(for: jump, in: environment.hosts.map(\.name)))",
                             at: environment.ssh.location!)
            }
        }
        if let passphrase = environment.ssh.passphraseSecret, !environment.secrets.contains(where: { $0.name == passphrase }) {
            reader.error("'passphrase_secret' names '\(passphrase)', which is not declared under 'secrets'", at: environment.ssh.location ?? map.location)
        }
        if let lockHost = environment.lockHost, environment.host(named: lockHost) == nil {
            reader.error("'lock_host' names '\(lockHost)', which is not a host of this environment\(Suggestion.hint(for: lockHost, in: environment.hosts.map(\.name)))",
                         at: map.keyLocation("lock_host") ?? map.location)
        }
        let transport = environment.transport
        let needsSSH = environment.hosts.contains { ($0.transport ?? transport) == .ssh }
        if needsSSH, environment.ssh.identity == nil, !environment.ssh.agent {
            reader.error("'ssh' needs 'identity: PATH' or 'agent: true' for hosts reached over SSH", at: environment.ssh.location ?? map.location)
        }
    }
}

/// The file spelling of host-key checking modes.
enum HostKeyCheckingChoice: String, CaseIterable { case strict, acceptNew = "accept-new" }

enum VersionCheck {
    /// The top of a runbook or environment file: a mapping of the file's keys, `version: 1`,
    /// and the required name under `name` ("?" when missing, reported already).
    static func header(_ root: Node, _ what: String, _ shape: ObjectShape, name key: String, reader: NodeReader) -> (MapReader, String)? {
        guard let map = reader.mapping(root, what)?.declare(shape) else { return nil }
        check(map, reader: reader)
        return (map, map.string(key, required: true) ?? "?")
    }

    static func check(_ map: MapReader, reader: NodeReader) {
        guard let node = map.node("version", required: true, expected: "version: 1") else { return }
        guard case .scalar(let scalar) = node, scalar.string == "1" else {
            reader.error("unsupported version \(node.scalar?.string ?? reader.describe(node)); this Marshal reads version: 1", at: node)
            return
        }
    }
}
