internal import CLibSSH2
import Foundation
import MarshalCore

/// One libssh2 session over one socket, in non-blocking mode. Used by a single thread only.
/// Owns the socket: both are released in `deinit`, never in `init` (a throwing init still runs
/// `deinit`, and freeing in both places was a double free).
final class SSHSession {
    let handle: OpaquePointer
    let socket: Int32
    let hostName: String
    let waiter: SessionWaiter
    private(set) var handshakeDone = false
    /// Set once the transport failed; later calls report the loss instead of touching libssh2.
    var lostReason: String?

    init(socket: Int32, hostName: String) throws(TransportError) {
        _ = libssh2Initialisation
        guard let handle = marshal_session_init() else {
            close(socket)
            throw .handshakeFailed(host: hostName, reason: "libssh2 could not allocate a session")
        }
        self.handle = handle
        self.socket = socket
        self.hostName = hostName
        self.waiter = SessionWaiter(session: handle, socket: socket)
        libssh2_session_set_blocking(handle, 0)
    }

    deinit {
        if handshakeDone && lostReason == nil {
            // Best effort, bounded: a dead peer must not hold up teardown.
            _ = try? waiter.call(until: .now + .seconds(1)) { marshal_session_disconnect(handle, "marshal closing") }
        }
        libssh2_session_free(handle)
        close(socket)
    }

    /// Host key algorithms to offer, best first: the types known_hosts already holds for this
    /// host lead, so a server with several keys presents one we can verify (libssh2 would
    /// otherwise prefer ECDSA over ed25519).
    func preferHostKeyTypes(_ known: [String]) {
        let supported = supportedAlgorithms(LIBSSH2_METHOD_HOSTKEY)
        guard !known.isEmpty else { return }
        var order: [String] = []
        for type in known {
            let names = type == "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type]
            order += names.filter { supported.contains($0) && !order.contains($0) }
        }
        order += supported.filter { !order.contains($0) }
        _ = libssh2_session_method_pref(handle, LIBSSH2_METHOD_HOSTKEY, order.joined(separator: ","))
    }

    func supportedAlgorithms(_ method: Int32) -> [String] {
        var list: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        let count = libssh2_session_supported_algs(handle, method, &list)
        guard count > 0, let list else { return [] }
        defer { libssh2_free(handle, list) }
        return (0..<Int(count)).compactMap { list[$0].map { String(cString: $0) } }
    }

    /// Keepalives every `interval` (libssh2_keepalive_config(3)); sent from `SessionWaiter.wait`.
    func enableKeepalive(interval: Duration, count: Int) {
        guard interval > .zero else { return }
        let seconds = max(1, UInt32(interval.components.seconds))
        libssh2_keepalive_config(handle, 1, seconds)
        waiter.keepalive.interval = .seconds(Int64(seconds))
        waiter.keepalive.count = max(1, count)
        waiter.keepalive.lastInbound = .now
    }

    func handshake(until deadline: ContinuousClock.Instant) throws(LibSSH2Failure) {
        try waiter.call(until: deadline) { libssh2_session_handshake(handle, socket) }
        handshakeDone = true
    }

    /// The server's host key blob and libssh2's type code.
    func hostKey() -> (blob: [UInt8], type: Int32)? {
        var length = 0
        var type: Int32 = 0
        guard let key = libssh2_session_hostkey(handle, &length, &type), length > 0 else { return nil }
        return (Array(UnsafeRawBufferPointer(start: key, count: length)), type)
    }
}

/// OpenSSH names for libssh2's host key type codes.
func hostKeyTypeName(_ type: Int32) -> String {
    switch type {
    case LIBSSH2_HOSTKEY_TYPE_ED25519: "ssh-ed25519"
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: "ecdsa-sha2-nistp256"
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: "ecdsa-sha2-nistp384"
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: "ecdsa-sha2-nistp521"
    case LIBSSH2_HOSTKEY_TYPE_RSA: "ssh-rsa"
    case LIBSSH2_HOSTKEY_TYPE_DSS: "ssh-dss"
    default: "unknown"
    }
}
