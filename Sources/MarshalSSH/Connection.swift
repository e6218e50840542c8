internal import CLibSSH2
import Foundation
import MarshalCore

/// An authenticated session to one host and what hangs off it. Confined to its worker thread.
final class Connection {
    let endpoint: HostEndpoint
    let session: SSHSession
    private var sftp: SFTPSession?

    private init(endpoint: HostEndpoint, session: SSHSession) {
        self.endpoint = endpoint
        self.session = session
    }

    /// TCP (directly or through the jump host), handshake, host key check, authentication.
    static func open(_ endpoint: HostEndpoint) throws(TransportError) -> Connection {
        let socket: Int32
        if case .via(let jump) = endpoint.jump {
            socket = try JumpTunnel.open(through: jump, to: endpoint)
        } else {
            socket = try connectTCP(host: endpoint.name, address: endpoint.address, port: endpoint.port,
                                    timeout: endpoint.connectTimeout)
        }
        return Connection(endpoint: endpoint, session: try establish(endpoint, over: socket))
    }

    /// Runs the SSH layer over a connected socket (which the returned session then owns).
    static func establish(_ endpoint: HostEndpoint, over socket: Int32) throws(TransportError) -> SSHSession {
        let session = try SSHSession(socket: socket, hostName: endpoint.name)
        let known: KnownHostKeys
        do {
            known = try KnownHostsStore.shared.keys(host: endpoint.address, port: endpoint.port,
                                                    path: endpoint.knownHostsPath)
        } catch {
            throw .handshakeFailed(host: endpoint.name, reason: "cannot read known_hosts file \(endpoint.knownHostsPath)")
        }
        var types: [String] = []
        for key in known.keys where !types.contains(key.typeName) { types.append(key.typeName) }
        session.preferHostKeyTypes(types)
        let deadline = ContinuousClock.now + endpoint.connectTimeout
        do {
            try session.handshake(until: deadline)
        } catch {
            throw handshakeFailure(error, endpoint: endpoint, session: session)
        }
        try verifyHostKey(session: session, known: known, endpoint: endpoint)
        try session.authenticate(user: endpoint.user, with: endpoint.authentication,
                                 until: ContinuousClock.now + endpoint.connectTimeout)
        session.enableKeepalive(interval: endpoint.keepaliveInterval, count: endpoint.keepaliveCount)
        return session
    }

    private static func handshakeFailure(_ failure: LibSSH2Failure, endpoint: HostEndpoint,
                                         session: SSHSession) -> TransportError {
        if failure.isDeadline {
            return .connectTimeout(host: endpoint.name, address: endpoint.address, port: endpoint.port,
                                   after: endpoint.connectTimeout)
        }
        switch failure.code {
        case LIBSSH2_ERROR_KEX_FAILURE, LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE, LIBSSH2_ERROR_METHOD_NONE:
            let ours = AlgorithmLists.ours(session)
            let theirs = endpoint.jump == .none
                ? AlgorithmLists.probeServer(address: endpoint.address, port: endpoint.port, timeout: endpoint.connectTimeout)
                : nil
            if let detail = AlgorithmLists.explainMismatch(ours: ours, theirs: theirs) {
                return .noCommonAlgorithm(host: endpoint.name, detail: detail)
            }
            return .handshakeFailed(host: endpoint.name, reason: "key exchange failed: \(failure.message)")
        case LIBSSH2_ERROR_BANNER_RECV, LIBSSH2_ERROR_SOCKET_DISCONNECT, LIBSSH2_ERROR_SOCKET_RECV:
            return .handshakeFailed(host: endpoint.name, reason: "the server closed the connection during the handshake (is it an SSH server? is MaxStartups exceeded?): \(failure.message)")
        default:
            return .handshakeFailed(host: endpoint.name, reason: failure.message)
        }
    }

    /// As OpenSSH (9.2) decides: a host with any key in known_hosts must present one of them,
    /// whatever its type — a server that now offers only another type is a changed key, not a
    /// new one; `accept-new` records a key only for a host that has none.
    private static func verifyHostKey(session: SSHSession, known: KnownHostKeys,
                                      endpoint: HostEndpoint) throws(TransportError) {
        guard let key = session.hostKey() else {
            throw .handshakeFailed(host: endpoint.name, reason: "the server presented no host key")
        }
        let served = KnownKey(typeName: hostKeyTypeName(key.type), blob: key.blob)
        let fingerprint = openSSHFingerprint(ofKeyBlob: key.blob)
        if known.revoked.contains(key.blob) {
            throw .revokedHostKey(host: endpoint.name, keyType: served.typeName, fingerprint: fingerprint)
        }
        var listed = known.keys
        if listed.isEmpty {
            switch endpoint.hostKeyChecking {
            case .strict:
                guard known.fileExists else {
                    throw .missingKnownHosts(host: endpoint.name, path: endpoint.knownHostsPath)
                }
                throw .unknownHostKey(host: endpoint.name, keyType: served.typeName, fingerprint: fingerprint,
                                      knownHosts: endpoint.knownHostsPath)
            case .acceptNew:
                do {
                    listed = try KnownHostsStore.shared.recordIfNew(host: endpoint.address, port: endpoint.port,
                                                                    path: endpoint.knownHostsPath, key: served)
                } catch {
                    throw .handshakeFailed(host: endpoint.name, reason: "cannot record the new host key \(fingerprint) in \(endpoint.knownHostsPath): \(error.localizedDescription)")
                }
                // Empty: recorded. Otherwise another connection recorded this host meanwhile.
                if listed.isEmpty { return }
            }
        }
        if listed.contains(served) { return }
        throw .hostKeyMismatch(host: endpoint.name, keyType: served.typeName, expected: describe(listed, servedType: served.typeName),
                               actual: fingerprint, knownHosts: endpoint.knownHostsPath)
    }

    /// The known keys a mismatch names: the fingerprints of the served type's keys, or, when the
    /// host is known only by other types, each key's type and fingerprint.
    private static func describe(_ keys: [KnownKey], servedType: String) -> String {
        let sameType = keys.filter { $0.typeName == servedType }
        if !sameType.isEmpty { return sameType.map { openSSHFingerprint(ofKeyBlob: $0.blob) }.joined(separator: ", ") }
        return keys.map { "\($0.typeName) \(openSSHFingerprint(ofKeyBlob: $0.blob))" }.joined(separator: ", ")
    }

    // MARK: commands

    /// Runs `command` through the login shell; `input` (secrets, scripts) is written to its stdin,
    /// which is then closed: the command text itself is an argument of that shell on the host.
    func run(_ command: String, input: [UInt8] = [], timeout: Duration?) throws(TransportError) -> CommandResult {
        if let reason = session.lostReason { throw .disconnected(host: endpoint.name, reason: reason) }
        // Silence is measured from the start of each operation: an idle session sends no keepalives.
        session.waiter.keepalive.lastInbound = .now
        let start = ContinuousClock.now
        let deadline = timeout.map { start + $0 }
        // With a timeout, the shell first prints its PID (it leads its own process group, sshd
        // runs it under setsid) so a timed-out command can be killed, not merely abandoned:
        // libssh2 1.10 has no channel signal request.
        let wrapped = timeout == nil ? command : "printf '%d\\n' \"$$\"\n" + command
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        do {
            let channel = try SSHChannel(session: session, until: deadline)
            try channel.exec(wrapped, until: deadline)
            // Small (secrets, a query): it fits the channel's window, so writing it all before
            // draining output cannot deadlock.
            try channel.write(input, until: deadline)
            try channel.sendEOF(until: deadline)
            let finished = try channel.drain(stdout: &stdout, stderr: &stderr, until: deadline)
            if finished {
                try channel.closeAndWait(until: deadline)
                if timeout != nil { _ = Connection.takeLeadingPID(&stdout) }
                return CommandResult(stdout: stdout, stderr: stderr, ending: channel.ending(), duration: .now - start)
            }
            let stopped = stopTimedOut(pid: Connection.takeLeadingPID(&stdout))
            _ = try? channel.closeAndWait(until: .now + .seconds(1))
            var result = CommandResult(stdout: stdout, stderr: stderr, ending: .timedOut, duration: .now - start)
            result.stopConfirmed = stopped
            return result
        } catch {
            if error.isDeadline {
                let pid = Connection.takeLeadingPID(&stdout)
                var result = CommandResult(stdout: stdout, stderr: stderr, ending: .timedOut, duration: .now - start)
                result.stopConfirmed = stopTimedOut(pid: pid)
                return result
            }
            throw transportError(error)
        }
    }

    private func transportError(_ failure: LibSSH2Failure) -> TransportError {
        if failure.isConnectionLoss {
            session.lostReason = failure.message
            return .disconnected(host: endpoint.name, reason: failure.message)
        }
        return .channelFailed(host: endpoint.name, reason: failure.message)
    }

    private static func takeLeadingPID(_ stdout: inout [UInt8]) -> Int32? {
        guard let newline = stdout.firstIndex(of: 0x0A),
              let pid = Int32(String(decoding: stdout[..<newline], as: UTF8.self)) else { return nil }
        stdout.removeSubrange(...newline)
        return pid
    }

    /// TERM, then KILL a second later, to the timed-out command's process group; true only when
    /// the host then says the group is gone (a host that does not answer confirms nothing).
    private func stopTimedOut(pid: Int32?) -> Bool {
        guard let pid, pid > 1, session.lostReason == nil else { return false }
        // A zombie is not a running command, but `kill -0` succeeds on one: a member whose parent
        // died first waits for init to reap it, which in a container may never happen. So count the
        // group's members that are not zombies (ps), and fall back to `kill -0` without ps.
        let gone = "if command -v ps >/dev/null 2>&1; then "
            + "ps -e -o pgid= -o stat= | awk -v g=\(pid) '$1 == g && $2 !~ /^Z/ { a = 1 } END { exit a }' && { echo gone; exit 0; }; "
            + "else kill -0 -- -\(pid) 2>/dev/null || { echo gone; exit 0; }; fi"
        let kill = "kill -TERM -- -\(pid) 2>/dev/null; for i in 1 2 3 4 5 6 7 8 9 10; do \(gone); sleep 0.1; done; "
            + "kill -KILL -- -\(pid) 2>/dev/null; sleep 0.2; \(gone); echo alive"
        // Generous: on a loaded host the check itself can take seconds, and without its answer
        // the step must say the command may still be running.
        let deadline = ContinuousClock.now + .seconds(10)
        guard let channel = try? SSHChannel(session: session, until: deadline) else { return false }
        guard (try? channel.exec(kill, until: deadline)) != nil else { return false }
        _ = try? channel.sendEOF(until: deadline)
        var out: [UInt8] = [], err: [UInt8] = []
        let drained = try? channel.drain(stdout: &out, stderr: &err, until: deadline)
        guard drained == true else { return false }
        _ = try? channel.closeAndWait(until: deadline)
        return String(decoding: out, as: UTF8.self).split(separator: "\n").contains("gone")
    }

    // MARK: upload

    static let uploadChunk = 256 * 1024

    func upload(localPath: String, remotePath: String, mode: Int32) throws(TransportError) -> UploadResult {
        if let reason = session.lostReason { throw .disconnected(host: endpoint.name, reason: reason) }
        // Silence is measured from the start of each operation: an idle session sends no keepalives.
        session.waiter.keepalive.lastInbound = .now
        let start = ContinuousClock.now
        guard let local = FileHandle(forReadingAtPath: localPath) else {
            throw .uploadFailed(host: endpoint.name, path: remotePath, reason: "cannot read local file \(localPath)")
        }
        defer { try? local.close() }
        let sftp: SFTPSession
        if let existing = self.sftp {
            sftp = existing
        } else {
            do {
                sftp = try SFTPSession(session: session, until: nil)
                self.sftp = sftp
            } catch {
                throw failedUpload(error, remotePath, sftp: nil)
            }
        }
        // Written under a temporary name and renamed only once verified, so a reader never sees
        // a half-written or corrupted file at `remotePath`.
        let temporary = remotePath + ".marshal-tmp-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        var hasher = SHA256()
        var total = 0
        do {
            let file = try SFTPFile(sftp: sftp, creatingForWrite: temporary, mode: 0o600, until: nil)
            while true {
                let chunk: Data
                do {
                    guard let next = try local.read(upToCount: Connection.uploadChunk), !next.isEmpty else { break }
                    chunk = next
                } catch {
                    sftp.remove(temporary, until: .now + .seconds(2))
                    throw TransportError.uploadFailed(host: endpoint.name, path: remotePath,
                                                      reason: "reading \(localPath) failed: \(error.localizedDescription)")
                }
                hasher.update(chunk)
                total += chunk.count
                // Data.withUnsafeBytes with a typed-throws closure crashes the 6.3 compiler.
                let written = chunk.withUnsafeBytes { bytes -> LibSSH2Failure? in
                    do throws(LibSSH2Failure) { try file.write(bytes, until: nil); return nil } catch { return error }
                }
                if let written { throw written }
            }
            try file.close(until: nil)
            try sftp.chmod(temporary, mode: mode, until: nil)
        } catch let error as LibSSH2Failure {
            sftp.remove(temporary, until: .now + .seconds(2))
            throw failedUpload(error, remotePath, sftp: sftp)
        } catch let error as TransportError {
            throw error
        } catch {
            throw .uploadFailed(host: endpoint.name, path: remotePath, reason: "\(error)")
        }
        let expected = hasher.finish().map { String(format: "%02x", $0) }.joined()
        let quotedTemporary = ShellQuote.quote(temporary)
        let digest = try run("sha256sum -- \(quotedTemporary)", timeout: .seconds(300))
        let actual = String(decoding: digest.stdout.prefix(64), as: UTF8.self)
        guard digest.succeeded, actual.count == 64 else {
            sftp.remove(temporary, until: .now + .seconds(2))
            throw .uploadFailed(host: endpoint.name, path: remotePath,
                                reason: "sha256sum on the host failed: \(digest.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        guard actual == expected else {
            sftp.remove(temporary, until: .now + .seconds(2))
            throw .checksumMismatch(host: endpoint.name, path: remotePath, expected: expected, actual: actual)
        }
        let move = try run("mv -f -- \(quotedTemporary) \(ShellQuote.quote(remotePath))", timeout: .seconds(60))
        guard move.succeeded else {
            sftp.remove(temporary, until: .now + .seconds(2))
            throw .uploadFailed(host: endpoint.name, path: remotePath,
                                reason: "moving the verified file into place failed: \(move.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return UploadResult(bytes: total, sha256: actual, duration: .now - start)
    }

    private func failedUpload(_ failure: LibSSH2Failure, _ remotePath: String, sftp: SFTPSession?) -> TransportError {
        if failure.isConnectionLoss {
            session.lostReason = failure.message
            return .disconnected(host: endpoint.name, reason: failure.message)
        }
        return .uploadFailed(host: endpoint.name, path: remotePath, reason: sftp?.describe(failure) ?? failure.message)
    }
}
