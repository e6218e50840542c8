import Foundation
import MarshalCore
import MarshalTestSupport
import Testing
@testable import MarshalSSH

/// The known_hosts index against files written by OpenSSH's own tools (ssh-keygen -H for
/// hashed names), and the store's read-once behaviour.
@Suite("known_hosts index")
struct KnownHostsTests {
    private func key(_ directory: String, _ name: String, type: String = "ed25519") async throws -> (type: String, base64: String) {
        let path = directory + "/" + name
        let (status, output) = await Lab.runProcess(["/usr/bin/ssh-keygen", "-q", "-t", type, "-N", "", "-f", path])
        guard status == 0 else { throw LabError(message: output) }
        let fields = try String(contentsOfFile: path + ".pub", encoding: .utf8).split(separator: " ")
        return (String(fields[0]), String(fields[1]))
    }

    private func blob(_ base64: String) -> [UInt8] { [UInt8](Data(base64Encoded: base64)!) }

    @Test("plain, [host]:port, wildcard, negated, hashed and marker lines are each found for the right host only")
    func lookups() async throws {
        let scratch = Lab.scratch()
        let a = try await key(scratch, "a"), b = try await key(scratch, "b"), c = try await key(scratch, "c", type: "ecdsa")
        let d = try await key(scratch, "d"), revoked = try await key(scratch, "r")
        let hashedFile = scratch + "/hashed"
        // ssh-keygen -H writes |1|salt|HMAC-SHA1(salt, name) exactly as `HashKnownHosts yes` does.
        try "db.example.com \(d.type) \(d.base64)\n[db.example.com]:2222 \(a.type) \(a.base64)\n"
            .write(toFile: hashedFile, atomically: true, encoding: .utf8)
        let (status, output) = await Lab.runProcess(["/usr/bin/ssh-keygen", "-H", "-f", hashedFile])
        #expect(status == 0, "\(output)")
        let hashedLines = try String(contentsOfFile: hashedFile, encoding: .utf8)
        #expect(hashedLines.split(separator: "\n").allSatisfy { $0.hasPrefix("|1|") })
        let text = """
            # comment
            web1.example.com,10.0.0.1 \(a.type) \(a.base64)
            [web1.example.com]:2222 \(b.type) \(b.base64)
            WEB2.example.com \(b.type) \(b.base64) a comment
            *.internal,!secret.internal \(c.type) \(c.base64)
            @revoked * \(revoked.type) \(revoked.base64)
            @cert-authority *.example.com \(d.type) \(d.base64)
            garbage line
            web3.example.com ssh-ed25519 not-base64!
            web3.example.com ecdsa-sha2-nistp256 \(a.base64)

            """ + hashedLines
        let index = KnownHostsIndex(parsing: Data(text.utf8))
        #expect(index.keys(for: "web1.example.com").map(\.blob) == [blob(a.base64)])
        #expect(index.keys(for: "10.0.0.1").map(\.blob) == [blob(a.base64)])
        #expect(index.keys(for: KnownHostsStore.lookupName(host: "web1.example.com", port: 2222)).map(\.blob) == [blob(b.base64)])
        #expect(index.keys(for: KnownHostsStore.lookupName(host: "Web2.Example.com", port: 22)).map(\.blob) == [blob(b.base64)])
        #expect(index.keys(for: "api.internal").map(\.typeName) == [c.type])
        #expect(index.keys(for: "secret.internal").isEmpty)
        // A line whose type field disagrees with the blob's own type is corrupt, not a key.
        #expect(index.keys(for: "web3.example.com").isEmpty)
        #expect(index.keys(for: "db.example.com").map(\.blob) == [blob(d.base64)])
        #expect(index.keys(for: "[db.example.com]:2222").map(\.blob) == [blob(a.base64)])
        #expect(index.keys(for: "db2.example.com").isEmpty)
        #expect(index.revoked == [blob(revoked.base64)])
        // @cert-authority is not a host key for *.example.com.
        #expect(index.keys(for: "other.example.com").isEmpty)
    }

    @Test("the store reads a file once for many lookups, and again only when it changes on disk")
    func readOnce() async throws {
        let scratch = Lab.scratch()
        let a = try await key(scratch, "a")
        let path = scratch + "/known_hosts"
        var lines = (0..<2000).map { "filler\($0).example.com \(a.type) \(a.base64)" }
        lines.append("[127.0.0.1]:2200 \(a.type) \(a.base64)")
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let store = KnownHostsStore()
        let found = try await withThrowingTaskGroup(of: Int.self) { group in
            for host in 0..<64 {
                group.addTask { try store.keys(host: host == 0 ? "127.0.0.1" : "10.1.0.\(host)", port: 2200, path: path).keys.count }
            }
            return try await group.reduce(0, +)
        }
        #expect(found == 1)
        #expect(store.reads == 1)
        try (lines + ["other.example.com \(a.type) \(a.base64)"]).joined(separator: "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try store.keys(host: "other.example.com", port: 22, path: path).keys.count == 1)
        #expect(store.reads == 2)
    }

    @Test("accept-new records once for concurrent connections to one new host; the file stays OpenSSH-readable")
    func recordOnce() async throws {
        let scratch = Lab.scratch()
        let a = try await key(scratch, "a"), b = try await key(scratch, "b")
        let path = scratch + "/known_hosts"
        try "unterminated.example.com \(a.type) \(a.base64)".write(toFile: path, atomically: true, encoding: .utf8)
        let store = KnownHostsStore()
        let first = try store.recordIfNew(host: "10.9.9.9", port: 2222, path: path, key: KnownKey(typeName: b.type, blob: blob(b.base64)))
        let second = try store.recordIfNew(host: "10.9.9.9", port: 2222, path: path, key: KnownKey(typeName: a.type, blob: blob(a.base64)))
        #expect(first.isEmpty)
        #expect(second.map(\.blob) == [blob(b.base64)])
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.last == "[10.9.9.9]:2222 \(b.type) \(b.base64)")
        #expect(try store.keys(host: "10.9.9.9", port: 2222, path: path).keys.map(\.blob) == [blob(b.base64)])
        let (status, _) = await Lab.runProcess(["/usr/bin/ssh-keygen", "-F", "[10.9.9.9]:2222", "-f", path])
        #expect(status == 0)
    }
}

@Suite("Connect gate")
struct ConnectGateTests {
    @Test("at most `limit` connection set-ups run at once; every waiter gets its turn")
    func bounded() async {
        let gate = ConnectGate(limit: 3)
        let counter = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<60 {
                group.addTask {
                    await gate.enter()
                    counter.change(+1)
                    try? await Task.sleep(for: .milliseconds(2))
                    counter.change(-1)
                    gate.leave()
                }
            }
        }
        #expect(counter.peak == 3)
        #expect(counter.now == 0)
        #expect(counter.entries == 60)
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var now = 0, peak = 0, entries = 0
        func change(_ delta: Int) {
            lock.lock()
            defer { lock.unlock() }
            now += delta
            peak = max(peak, now)
            if delta > 0 { entries += 1 }
        }
    }
}
