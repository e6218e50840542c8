/// Why a host could not be reached or a command could not be run, written for the operator.
public enum TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    case unreachable(host: String, address: String, port: Int, reason: String)
    case connectTimeout(host: String, address: String, port: Int, after: Duration)
    case handshakeFailed(host: String, reason: String)
    case noCommonAlgorithm(host: String, detail: String)
    case unknownHostKey(host: String, keyType: String, fingerprint: String, knownHosts: String)
    /// Strict checking with no known_hosts file at all: nothing to verify against.
    case missingKnownHosts(host: String, path: String)
    case hostKeyMismatch(host: String, keyType: String, expected: String, actual: String, knownHosts: String)
    case revokedHostKey(host: String, keyType: String, fingerprint: String)
    case authenticationFailed(host: String, user: String, reason: String)
    case unsupportedKey(host: String, path: String, reason: String)
    case channelFailed(host: String, reason: String)
    case uploadFailed(host: String, path: String, reason: String)
    case checksumMismatch(host: String, path: String, expected: String, actual: String)
    case disconnected(host: String, reason: String)

    public var host: String {
        switch self {
        case .unreachable(let h, _, _, _), .connectTimeout(let h, _, _, _), .handshakeFailed(let h, _),
             .noCommonAlgorithm(let h, _), .unknownHostKey(let h, _, _, _), .missingKnownHosts(let h, _), .hostKeyMismatch(let h, _, _, _, _),
             .revokedHostKey(let h, _, _), .authenticationFailed(let h, _, _), .unsupportedKey(let h, _, _),
             .channelFailed(let h, _), .uploadFailed(let h, _, _), .checksumMismatch(let h, _, _, _),
             .disconnected(let h, _):
            return h
        }
    }

    /// True when nothing could have run on the host (a "could not start" condition, exit 3).
    public var isConnectionFailure: Bool {
        switch self {
        case .channelFailed, .uploadFailed, .checksumMismatch, .disconnected: false
        default: true
        }
    }

    public var description: String { "host \(host): \(problem)" }

    /// What went wrong, without the host that `description` puts first.
    private var problem: String {
        switch self {
        case .unreachable(_, let a, let p, let r):
            "cannot connect to \(a):\(p): \(r)"
        case .connectTimeout(_, let a, let p, let d):
            "no answer from \(a):\(p) within \(d) (connect_timeout)"
        case .handshakeFailed(_, let r):
            "SSH handshake failed: \(r)"
        case .noCommonAlgorithm(_, let d):
            "no SSH algorithm in common with the server: \(d)"
        case .unknownHostKey(_, let t, let f, let k):
            "host key \(t) \(f) is not in \(k); refusing to connect (host_key_checking: strict). Verify the fingerprint out of band, then add it to known_hosts or use accept-new"
        case .missingKnownHosts(_, let p):
            "no known_hosts file at \(p); refusing to connect (host_key_checking: strict). Create it with the hosts' keys (verify their fingerprints out of band), point ssh.known_hosts at the right file, or use accept-new"
        case .hostKeyMismatch(_, let t, let e, let a, let k):
            "HOST KEY MISMATCH for \(t): known_hosts (\(k)) has \(e), the server presented \(a). Refusing to connect: this may be a man-in-the-middle or a rebuilt host; verify before updating known_hosts"
        case .revokedHostKey(_, let t, let f):
            "host key \(t) \(f) is marked @revoked in known_hosts; refusing to connect"
        case .authenticationFailed(_, let u, let r):
            "authentication as \(u) failed: \(r)"
        case .unsupportedKey(_, let p, let r):
            "cannot use key \(p): \(r)"
        case .channelFailed(_, let r):
            "could not run command: \(r)"
        case .uploadFailed(_, let p, let r):
            "upload to \(p) failed: \(r)"
        case .checksumMismatch(_, let p, let e, let a):
            "upload to \(p) arrived corrupted: sha256 \(a), expected \(e)"
        case .disconnected(_, let r):
            "connection lost: \(r)"
        }
    }
}
