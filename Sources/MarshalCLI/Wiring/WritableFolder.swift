import ArgumentParser
import Foundation

/// The folder a file named on the command line goes into: checked while the command line is read,
/// so a typo in it costs nothing (not a run, not a report built for nothing).
enum WritableFolder {
    /// Exit 2 naming `flag` when the folder of `path` is missing or not writable.
    static func check(_ flag: String, _ path: String?, then consequence: String) throws {
        guard let path else { return }
        let folder = (path as NSString).deletingLastPathComponent
        let directory = folder.isEmpty ? "." : folder
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue,
              FileManager.default.isWritableFile(atPath: directory)
        else {
            Terminal.stderr("error: \(flag) \(path): the folder \(directory) does not exist or is not writable; \(consequence)")
            throw ExitCode.invalidInput
        }
    }
}
