import CLibSSH2
import Foundation
import MarshalCore

/// The known_hosts file for one session, loaded through libssh2 (which understands hashed `|1|`
/// entries) except for marker lines: libssh2 loads `@revoked` and `@cert-authority` lines but
/// ignores their meaning, so a revoked key would simply match. Revoked keys are kept here instead.
final class KnownHosts {
    enum Verdict {
        case match
        case mismatch(expectedFingerprint: String)
        case notFound
    }

    let handle: OpaquePointer
    let session: SSHSession
    let path: String
    /// Base64 key blobs from `@revoked` lines; a revoked key is refused for every host.
    private(set) var revoked: Set<String> = []

    static let candidateTypes = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                                 "ecdsa-sha2-nistp521", "ssh-rsa"]

    init(session: SSHSession, path: String) throws(TransportError) {
        guard let handle = libssh2_knownhost_init(session.handle) else {
            throw .handshakeFailed(host: session.hostName, reason: "libssh2 could not allocate a known_hosts list")
        }
        self.handle = handle
        self.session = session
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { return }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .handshakeFailed(host: session.hostName, reason: "cannot read known_hosts file \(path)")
        }
        for rawLine in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("@") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                if fields.first == "@revoked", fields.count >= 4 { revoked.insert(String(fields[3])) }
                continue
            }
            // Lines libssh2 cannot parse (e.g. sk-* keys) are skipped, as OpenSSH skips what it does not know.
            _ = line.withCString { libssh2_knownhost_readline(handle, $0, strlen($0), marshal_knownhost_file_openssh) }
        }
    }

    deinit { libssh2_knownhost_free(handle) }

    func check(host: String, port: Int, keyBlob: [UInt8], typeName: String) -> Verdict {
        guard let mask = knownHostKeyMask(typeName) else { return .notFound }
        var entry: UnsafeMutablePointer<libssh2_knownhost>?
        let result = keyBlob.withUnsafeBufferPointer { blob in
            blob.withMemoryRebound(to: CChar.self) { chars in
                libssh2_knownhost_checkp(handle, host, Int32(port), chars.baseAddress, chars.count,
                                         marshal_knownhost_type_plain | marshal_knownhost_keyenc_raw | mask, &entry)
            }
        }
        switch result {
        case marshal_knownhost_check_match:
            return .match
        case marshal_knownhost_check_mismatch:
            var expected = "unknown fingerprint"
            if let key = entry?.pointee.key, let blob = Data(base64Encoded: String(cString: key)) {
                expected = openSSHFingerprint(ofKeyBlob: blob)
            }
            return .mismatch(expectedFingerprint: expected)
        default:
            return .notFound
        }
    }

    /// Key types known_hosts holds for this host: a probe key of each type that does not match
    /// comes back as a mismatch exactly when an entry of that type exists (hashed entries included).
    func knownTypes(host: String, port: Int) -> [String] {
        KnownHosts.candidateTypes.filter { type in
            if case .mismatch = check(host: host, port: port, keyBlob: [0x00], typeName: type) { true } else { false }
        }
    }

    func isRevoked(keyBlob: [UInt8]) -> Bool {
        revoked.contains(Data(keyBlob).base64EncodedString())
    }

    /// Appends an OpenSSH-format line (`[host]:port` for a port other than 22).
    static func append(path: String, host: String, port: Int, typeName: String, keyBlob: [UInt8]) throws {
        let name = port == 22 ? host : "[\(host)]:\(port)"
        let line = "\(name) \(typeName) \(Data(keyBlob).base64EncodedString())\n"
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        // Keep an unterminated last line from swallowing ours.
        if try handle.offset() > 0, let data = FileManager.default.contents(atPath: path), data.last != 0x0A {
            try handle.write(contentsOf: Data([0x0A]))
        }
        try handle.write(contentsOf: Data(line.utf8))
    }
}
