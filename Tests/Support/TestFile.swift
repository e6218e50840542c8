import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes test inputs without the fsync that Foundation's `createFile` and `Data.write` do: on a
/// disk busy with the suite's databases one fsync took seconds, holding a thread of the
/// cooperative pool (2 on 2 cores) and so delaying every other test. A test input need not
/// survive a power cut. A failure to write is left for the read that follows to report.
public enum TestFile {
    public static func write(_ text: String, to path: String) {
        write(Array(text.utf8), to: path)
    }

    /// Through a temporary name and a rename, as `createFile` does, so a process reading the file
    /// meanwhile sees the old content or the new, never half of it.
    public static func write(_ bytes: [UInt8], to path: String) {
        let temporary = path + ".tmp-" + UUID().uuidString.prefix(8)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            offset += n
        }
        close(fd)
        if offset < bytes.count || rename(temporary, path) != 0 { unlink(temporary) }
    }
}
