internal import CLibSSH2
import Foundation
import MarshalCore

/// A host key as known_hosts lists it.
struct KnownKey: Hashable, Sendable {
    let typeName: String
    let blob: [UInt8]
}

/// What one known_hosts file says about one host.
struct KnownHostKeys {
    /// Every key listed for the host, of any type, in file order (plain, wildcard, hashed, then
    /// keys this process recorded). A host with any key here must present one of them.
    var keys: [KnownKey]
    /// `@revoked` key blobs: refused for every host.
    var revoked: Set<[UInt8]>
    var fileExists: Bool
}

/// The known_hosts files of this process, each read and indexed once, then looked up per host:
/// literal names in a dictionary, wildcard lines in a short list, hashed `|1|` names by HMAC.
/// A run with H hosts and E entries costs E to parse plus, per host, a dictionary probe, the
/// wildcard lines and one HMAC-SHA1 (two SHA-1 blocks) per hashed entry — what OpenSSH itself
/// pays per connection for hashed names, which cannot be looked up otherwise. Memory is the
/// index, shared by every connection, not a copy per connection.
///
/// Connections look up from their own threads at once, so the index is guarded by a lock; a file
/// changed on disk (another tool, a test rewriting it) is noticed by its stat and read again.
final class KnownHostsStore: @unchecked Sendable {
    static let shared = KnownHostsStore()

    private let lock = NSLock()
    private var files: [String: Loaded] = [:]
    /// How many times a file was read and parsed (what the tests hold to "once per run").
    private(set) var reads = 0

    /// What identifies one version of the file on disk.
    private struct Stamp: Equatable {
        var device: UInt64, inode: UInt64, size: Int64
        var modified: Int64, modifiedNanoseconds: Int64, changed: Int64, changedNanoseconds: Int64

        static func of(_ path: String) -> Stamp? {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            return Stamp(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                         modified: Int64(info.st_mtim.tv_sec), modifiedNanoseconds: Int64(info.st_mtim.tv_nsec),
                         changed: Int64(info.st_ctim.tv_sec), changedNanoseconds: Int64(info.st_ctim.tv_nsec))
        }
    }

    private final class Loaded {
        var stamp: Stamp?
        let index: KnownHostsIndex
        /// Keys this process appended (accept-new) since the file was read.
        var added: [String: [KnownKey]] = [:]

        init(stamp: Stamp?, index: KnownHostsIndex) {
            self.stamp = stamp
            self.index = index
        }
    }

    enum ReadFailure: Error { case unreadable }

    /// The name a host is listed under: `[host]:port` unless the port is 22, as OpenSSH writes it.
    static func lookupName(host: String, port: Int) -> String {
        port == 22 ? host.lowercased() : "[\(host.lowercased())]:\(port)"
    }

    func keys(host: String, port: Int, path: String) throws(ReadFailure) -> KnownHostKeys {
        let name = KnownHostsStore.lookupName(host: host, port: port)
        let (index, exists, added) = try current(path, name: name)
        // The scan runs outside the lock: the index is immutable, so connections look up at once.
        return KnownHostKeys(keys: index.keys(for: name) + added, revoked: index.revoked, fileExists: exists)
    }

    /// Records `key` for a host that has no key yet (accept-new). Under the lock, so two
    /// connections to one new host do not both append: the second sees the first one's key and
    /// gets it back to verify against instead.
    func recordIfNew(host: String, port: Int, path: String, key: KnownKey) throws -> [KnownKey] {
        let name = KnownHostsStore.lookupName(host: host, port: port)
        lock.lock()
        defer { lock.unlock() }
        let loaded = try loadLocked(path)
        let existing = loaded.index.keys(for: name) + loaded.added[name, default: []]
        guard existing.isEmpty else { return existing }
        try KnownHostsStore.append(path: path, host: host, port: port, typeName: key.typeName, keyBlob: key.blob)
        loaded.added[name, default: []].append(key)
        // Our own line is already in the index (as `added`): no need to read the file again.
        loaded.stamp = Stamp.of(path)
        return []
    }

    private func current(_ path: String, name: String) throws(ReadFailure) -> (KnownHostsIndex, Bool, [KnownKey]) {
        lock.lock()
        defer { lock.unlock() }
        let loaded = try loadLocked(path)
        return (loaded.index, loaded.stamp != nil, loaded.added[name, default: []])
    }

    private func loadLocked(_ path: String) throws(ReadFailure) -> Loaded {
        let stamp = Stamp.of(path)
        if let loaded = files[path], loaded.stamp == stamp { return loaded }
        var index = KnownHostsIndex()
        if stamp != nil {
            guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable }
            index = KnownHostsIndex(parsing: data)
            reads += 1
        }
        let loaded = Loaded(stamp: stamp, index: index)
        files[path] = loaded
        return loaded
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
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let end = try handle.seekToEnd()
        // Keep an unterminated last line from swallowing ours.
        if end > 0 {
            try handle.seek(toOffset: end - 1)
            if try handle.read(upToCount: 1) != Data([0x0A]) {
                try handle.seekToEnd()
                try handle.write(contentsOf: Data([0x0A]))
            }
        }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(line.utf8))
    }
}

/// One known_hosts file, parsed. Immutable once built, so lookups need no lock.
final class KnownHostsIndex: @unchecked Sendable {
    /// Literal host names (lowercased, `[host]:port` as written) → their keys.
    private(set) var byName: [String: [KnownKey]] = [:]
    /// Lines whose host field has a wildcard or a negation: matched per host (usually few).
    private(set) var patternLines: [(patterns: [String], key: KnownKey)] = []
    /// Hashed names with their pads prepared; `hashedKeys[i]` belongs to `hashed[i]`.
    private var hashed: [marshal_hashed_name] = []
    private var hashedKeys: [KnownKey] = []
    private(set) var revoked: Set<[UInt8]> = []
    private(set) var entryCount = 0

    init() {}

    /// Lines libssh2 or OpenSSH would skip are skipped (unknown key types, `@cert-authority`,
    /// malformed base64), as OpenSSH skips what it does not understand.
    init(parsing data: Data) {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var start = 0
            let bytes = raw.bindMemory(to: UInt8.self)
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != 0x0A { end += 1 }
                parseLine(UnsafeBufferPointer(rebasing: bytes[start..<end]))
                start = end + 1
            }
        }
    }

    private func parseLine(_ line: UnsafeBufferPointer<UInt8>) {
        var fields = String(decoding: line, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
        guard let first = fields.first, !first.hasPrefix("#") else { return }
        var marker: Substring?
        if first.hasPrefix("@") {
            marker = first
            fields.removeFirst()
        }
        guard fields.count >= 3, let data = Data(base64Encoded: String(fields[2])) else { return }
        let blob = [UInt8](data)
        // The blob names its own type; a line whose type field disagrees is corrupt.
        var reader = SSHWireReader(blob)
        guard let embedded = reader.string(), embedded.elementsEqual(fields[1].utf8) else { return }
        let key = KnownKey(typeName: String(fields[1]), blob: blob)
        switch marker {
        case nil: break
        case "@revoked"?:
            revoked.insert(blob)
            return
        default:
            return  // @cert-authority: host certificates are not supported by libssh2 1.10
        }
        entryCount += 1
        let hosts = fields[0]
        if hosts.hasPrefix("|1|") {
            let parts = hosts.split(separator: "|", omittingEmptySubsequences: false)
            guard parts.count == 4, let salt = Data(base64Encoded: String(parts[2])),
                  let hash = Data(base64Encoded: String(parts[3])), hash.count == 20 else { return }
            var entry = marshal_hashed_name()
            salt.withUnsafeBytes { saltBytes in
                hash.withUnsafeBytes { hashBytes in
                    marshal_hashed_name_init(&entry, saltBytes.bindMemory(to: UInt8.self).baseAddress, salt.count,
                                             hashBytes.bindMemory(to: UInt8.self).baseAddress)
                }
            }
            hashed.append(entry)
            hashedKeys.append(key)
            return
        }
        let patterns = hosts.split(separator: ",").map { $0.lowercased() }
        if patterns.contains(where: { $0.hasPrefix("!") || $0.contains("*") || $0.contains("?") }) {
            patternLines.append((patterns, key))
        } else {
            for name in patterns { byName[name, default: []].append(key) }
        }
    }

    /// Every key listed for `name` (a lookup name from `KnownHostsStore.lookupName`).
    func keys(for name: String) -> [KnownKey] {
        var keys = byName[name] ?? []
        for line in patternLines where KnownHostsIndex.matches(name, patterns: line.patterns) {
            keys.append(line.key)
        }
        if !hashed.isEmpty {
            var name = name
            name.withUTF8 { utf8 in
                hashed.withUnsafeBufferPointer { entries in
                    var next = 0
                    while true {
                        let found = utf8.withMemoryRebound(to: CChar.self) {
                            marshal_hashed_name_find(entries.baseAddress, entries.count, next, $0.baseAddress, $0.count)
                        }
                        if found >= entries.count { break }
                        keys.append(hashedKeys[found])
                        next = found + 1
                    }
                }
            }
        }
        return keys
    }

    /// OpenSSH's match_hostname: a negated pattern that matches rules the line out; otherwise
    /// any matching pattern rules it in.
    static func matches(_ name: String, patterns: [String]) -> Bool {
        var found = false
        for pattern in patterns {
            if pattern.hasPrefix("!") {
                if glob(Array(name.utf8), Array(pattern.utf8.dropFirst())) { return false }
            } else if glob(Array(name.utf8), Array(pattern.utf8)) {
                found = true
            }
        }
        return found
    }

    /// `*` any run, `?` one byte; iterative with one backtrack point, so linear in practice.
    static func glob(_ text: [UInt8], _ pattern: [UInt8]) -> Bool {
        var t = 0, p = 0
        var star = -1, resume = 0
        while t < text.count {
            if p < pattern.count && (pattern[p] == UInt8(ascii: "?") || pattern[p] == text[t]) {
                t += 1; p += 1
            } else if p < pattern.count && pattern[p] == UInt8(ascii: "*") {
                star = p; resume = t; p += 1
            } else if star >= 0 {
                p = star + 1; resume += 1; t = resume
            } else {
                return false
            }
        }
        while p < pattern.count && pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }
}
