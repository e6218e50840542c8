internal import CLibSSH2
import Foundation
import MarshalCore

/// What kind of key a private key file holds, read from its `.pub` or its own header, so an RSA
/// key gets a clear refusal before libssh2 offers it.
enum IdentityKeyKind: Equatable {
    case ed25519, ecdsa, rsa, dsa, other(String), unknown

    static func detect(privateKeyPath path: String) -> IdentityKeyKind {
        if let pub = try? String(contentsOfFile: path + ".pub", encoding: .utf8),
           let type = pub.split(separator: " ").first {
            return fromTypeName(String(type))
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return .unknown }
        if text.contains("BEGIN RSA PRIVATE KEY") { return .rsa }
        if text.contains("BEGIN EC PRIVATE KEY") { return .ecdsa }
        if text.contains("BEGIN DSA PRIVATE KEY") { return .dsa }
        guard text.contains("BEGIN OPENSSH PRIVATE KEY") else { return .unknown }
        // openssh-key-v1: magic, cipher, kdf, kdf options, key count, then the public key blob in
        // clear even when the private part is encrypted; the blob starts with the type name.
        let body = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard let data = Data(base64Encoded: body) else { return .unknown }
        var reader = SSHWireReader(Array(data))
        guard reader.skip(15),  // "openssh-key-v1\0"
              reader.string() != nil, reader.string() != nil, reader.string() != nil,
              reader.uint32() != nil, let blob = reader.string() else { return .unknown }
        var inner = SSHWireReader(blob)
        guard let type = inner.string() else { return .unknown }
        return fromTypeName(String(decoding: type, as: UTF8.self))
    }

    /// True when the private key needs a passphrase (OpenSSH cipher other than "none", or PEM
    /// `Proc-Type: 4,ENCRYPTED`), so a signing failure can be blamed on the passphrase.
    static func isEncrypted(privateKeyPath path: String) -> Bool {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
        if text.contains("ENCRYPTED") { return true }
        guard text.contains("BEGIN OPENSSH PRIVATE KEY") else { return false }
        let body = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard let data = Data(base64Encoded: body) else { return false }
        var reader = SSHWireReader(Array(data))
        guard reader.skip(15), let cipher = reader.string() else { return false }
        return cipher != Array("none".utf8)
    }

    static func fromTypeName(_ name: String) -> IdentityKeyKind {
        switch name {
        case "ssh-ed25519": .ed25519
        case let n where n.hasPrefix("ecdsa-sha2-"): .ecdsa
        case "ssh-rsa": .rsa
        case "ssh-dss": .dsa
        default: .other(name)
        }
    }
}

/// Reads SSH wire encodings (RFC 4251 §5): big-endian uint32 and length-prefixed strings.
struct SSHWireReader {
    private let bytes: [UInt8]
    private var index = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func skip(_ count: Int) -> Bool {
        guard index + count <= bytes.count else { return false }
        index += count
        return true
    }

    mutating func uint32() -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        defer { index += 4 }
        return bytes[index..<index + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func string() -> [UInt8]? {
        guard let length = uint32(), index + Int(length) <= bytes.count else { return nil }
        defer { index += Int(length) }
        return Array(bytes[index..<index + Int(length)])
    }
}

extension SSHSession {
    func authenticate(user: String, with authentication: HostEndpoint.Authentication,
                      until deadline: ContinuousClock.Instant) throws(TransportError) {
        switch authentication {
        case .identityFile(let path, let passphrase):
            try authenticateWithKey(user: user, path: path, passphrase: passphrase, until: deadline)
        case .agent:
            try authenticateWithAgent(user: user, until: deadline)
        }
    }

    private func authenticateWithKey(user: String, path: String, passphrase: Secret?,
                                     until deadline: ContinuousClock.Instant) throws(TransportError) {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw .unsupportedKey(host: hostName, path: path, reason: "the identity file does not exist or is not readable")
        }
        switch IdentityKeyKind.detect(privateKeyPath: path) {
        case .rsa:
            throw .unsupportedKey(host: hostName, path: path, reason: """
                it is an RSA key; libssh2 1.10 signs RSA with SHA-1 (ssh-rsa), which OpenSSH 8.8 and later refuse. \
                Use an ed25519 (ssh-keygen -t ed25519) or ECDSA key, or an ssh-agent
                """)
        case .dsa:
            throw .unsupportedKey(host: hostName, path: path, reason: "DSA keys are refused by current OpenSSH servers; use ed25519 or ECDSA")
        case .other(let name):
            throw .unsupportedKey(host: hostName, path: path, reason: "key type \(name) is not supported; use ed25519 or ECDSA")
        case .ed25519, .ecdsa, .unknown:
            break
        }
        let publicPath = FileManager.default.fileExists(atPath: path + ".pub") ? path + ".pub" : nil
        let secret = passphrase?.reveal() ?? ""
        do {
            try waiter.call(until: deadline) {
                marshal_userauth_publickey_fromfile(handle, user, publicPath, path, secret)
            }
        } catch {
            throw authFailure(error, user: user, path: path)
        }
    }

    private func authFailure(_ failure: LibSSH2Failure, user: String, path: String) -> TransportError {
        if failure.isDeadline {
            return .authenticationFailed(host: hostName, user: user, reason: "no answer from the server within connect_timeout")
        }
        switch failure.code {
        case LIBSSH2_ERROR_FILE, LIBSSH2_ERROR_KEYFILE_AUTH_FAILED:
            return .unsupportedKey(host: hostName, path: path,
                                   reason: "libssh2 could not load it (wrong passphrase or unrecognised format): \(failure.message)")
        case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED where IdentityKeyKind.isEncrypted(privateKeyPath: path):
            // libssh2 reports a private key it cannot decrypt as a failed signing callback.
            return .unsupportedKey(host: hostName, path: path,
                                   reason: "the key is encrypted and could not be unlocked: wrong or missing passphrase")
        case LIBSSH2_ERROR_AUTHENTICATION_FAILED, LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
            return .authenticationFailed(host: hostName, user: user,
                                         reason: "the server refused the key \(path); is its .pub in the user's authorized_keys?")
        default:
            if failure.isConnectionLoss { return .disconnected(host: hostName, reason: failure.message) }
            return .authenticationFailed(host: hostName, user: user, reason: failure.message)
        }
    }

    private func authenticateWithAgent(user: String, until deadline: ContinuousClock.Instant) throws(TransportError) {
        let agent = try SSHAgent(session: self)
        do {
            try waiter.call(until: deadline) { libssh2_agent_connect(agent.handle) }
        } catch {
            if error.code == LIBSSH2_ERROR_BAD_USE {
                throw .authenticationFailed(host: hostName, user: user, reason: "ssh-agent requested but SSH_AUTH_SOCK is not set; start an agent (eval $(ssh-agent); ssh-add KEY) or configure identity:")
            }
            throw .authenticationFailed(host: hostName, user: user, reason: "cannot reach ssh-agent: \(error.message)")
        }
        agent.connected = true
        do {
            try waiter.call(until: deadline) { libssh2_agent_list_identities(agent.handle) }
        } catch {
            throw .authenticationFailed(host: hostName, user: user, reason: "ssh-agent did not list its keys: \(error.message)")
        }
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
        var tried = 0
        while true {
            var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
            let rc = libssh2_agent_get_identity(agent.handle, &identity, previous)
            if rc != 0 { break }
            previous = identity
            tried += 1
            do {
                try waiter.call(until: deadline) { libssh2_agent_userauth(agent.handle, user, identity) }
                return
            } catch {
                if error.isDeadline || error.isConnectionLoss {
                    throw .authenticationFailed(host: hostName, user: user, reason: error.message)
                }
            }
        }
        throw .authenticationFailed(host: hostName, user: user, reason: tried == 0
            ? "ssh-agent holds no keys (ssh-add one)"
            : "the server refused all \(tried) keys offered by ssh-agent")
    }
}

/// An ssh-agent connection; holds its session so the session outlives it.
final class SSHAgent {
    let handle: OpaquePointer
    let session: SSHSession
    var connected = false

    init(session: SSHSession) throws(TransportError) {
        guard let handle = libssh2_agent_init(session.handle) else {
            throw .authenticationFailed(host: session.hostName, user: "", reason: "libssh2 could not allocate an agent handle")
        }
        self.handle = handle
        self.session = session
    }

    deinit {
        if connected { _ = libssh2_agent_disconnect(handle) }
        libssh2_agent_free(handle)
    }
}
