/// Capistrano-style release layout commands: `PATH/releases/<id>/`, `PATH/current` symlink.
public enum ReleaseCommands {
    /// Unpacks an uploaded tarball into a new release dir and prints the release that was live.
    public static func unpack(path: String, releaseID: String, tarball: String) -> ShellCommand {
        ShellCommand([
            .literal("set -e; cd "), .quoted(path), .literal("; mkdir -p releases/"), .quoted(releaseID),
            .literal("; tar -xzf "), .quoted(tarball), .literal(" -C releases/"), .quoted(releaseID),
            .literal("; echo \"previous=$(readlink current 2>/dev/null | sed 's#^releases/##' || true)\""),
        ])
    }

    /// Points `current` at a release atomically: a new symlink renamed over the old one.
    public static func switchCurrent(path: String, releaseID: String) -> ShellCommand {
        ShellCommand([
            .literal("set -e; cd "), .quoted(path), .literal("; test -d releases/"), .quoted(releaseID),
            .literal("; ln -sfn releases/"), .quoted(releaseID), .literal(" current.marshal-tmp && mv -T current.marshal-tmp current"),
        ])
    }

    /// Removes all but the newest `keep` releases, never the live one.
    public static func prune(path: String, keep: Int) -> ShellCommand {
        ShellCommand([
            .literal("cd "), .quoted(path),
            .literal("/releases && live=$(basename \"$(readlink ../current)\") && ls -1t | tail -n +\(keep + 1) | while read -r r; do [ \"$r\" = \"$live\" ] || rm -rf -- \"$r\"; done"),
        ])
    }
}
