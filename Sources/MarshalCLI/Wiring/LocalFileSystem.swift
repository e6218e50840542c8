import Foundation
import MarshalCore

/// This machine's file system, as steps see it.
struct LocalFileSystem: LocalFiles {
    func isReadableFile(atPath path: String) -> Bool {
        FileManager.default.isReadableFile(atPath: path)
    }
}
