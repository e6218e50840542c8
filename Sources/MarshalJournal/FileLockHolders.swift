import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Which processes of this machine hold a lock on a file, read from `/proc/locks` (Linux), so that a
/// journal kept busy by another process can be reported with that process's pid and name.
enum FileLockHolders {
    /// "pid 4242 (sqlite3)" for each other process locking one of `paths`; empty when none is found
    /// (another machine over NFS, or not Linux). Only the short process name is read, never its arguments.
    static func describe(_ paths: [String]) -> [String] {
        var inodes: Set<UInt64> = []
        for path in paths {
            var info = stat()
            if stat(path, &info) == 0 { inodes.insert(UInt64(info.st_ino)) }
        }
        guard !inodes.isEmpty, let table = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return [] }
        var pids: [Int32] = []
        for line in table.split(separator: "\n") where !line.contains("->") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // "1: POSIX  ADVISORY  WRITE 8016 fe:00:5359193 0 EOF"
            guard fields.count >= 6, let pid = Int32(fields[4]), pid != getpid(),
                  let inode = fields[5].split(separator: ":").last.flatMap({ UInt64($0) }), inodes.contains(inode),
                  !pids.contains(pid) else { continue }
            pids.append(pid)
        }
        return pids.map { pid in
            let name = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            return "pid \(pid) (\(name))"
        }
    }
}
