import Foundation

/// Where an installed `marshal` keeps its files: `PREFIX/bin/marshal`, `PREFIX/share/marshal/`
/// (templates, schemas), as `make install` lays them out. Found from the running binary, not the
/// current folder, so a binary on PATH works from any folder.
enum InstallLayout {
    /// The running binary, symlinks resolved (`/proc/self/exe` on Linux: argv[0] may be a bare name found on PATH).
    static var executablePath: String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }

    /// `PREFIX/share/marshal` for a binary in `PREFIX/bin`.
    static var dataFolder: String {
        URL(fileURLWithPath: executablePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("share/marshal").path
    }
}
