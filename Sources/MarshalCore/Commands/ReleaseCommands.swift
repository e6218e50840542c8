/// Capistrano-style release layout commands: `PATH/releases/<id>/`, `PATH/current` symlink.
public enum ReleaseCommands {
    /// Unpacks an uploaded tarball into a new release dir and prints the release that was live.
    public static func unpack(path: String, releaseID: String, tarball: String) -> ShellCommand {
        ShellCommand([
            // Whether the release dir was there before says whether a failure may remove it.
            .literal("set -e; cd "), .quoted(path), .literal("; if [ -e releases/"), .quoted(releaseID),
            .literal(" ]; then echo existed=yes; else echo existed=no; fi; mkdir -p releases/"), .quoted(releaseID),
            .literal("; tar -xzf "), .quoted(tarball), .literal(" -C releases/"), .quoted(releaseID),
            // tar restores the archived mtime of `.`; prune orders releases by mtime, so stamp it now.
            .literal("; touch releases/"), .quoted(releaseID),
            // The release live before this one is kept beside it: a re-run after a crash that
            // came after the switch finds `current` already here and must not call it previous.
            .literal("; live=$(readlink current 2>/dev/null | sed 's#^releases/##' || true); if [ \"$live\" != "), .quoted(releaseID),
            .literal(" ] || [ ! -e releases/.marshal-previous-"), .quoted(releaseID), .literal(" ]; then printf '%s\\n' \"$live\" > releases/.marshal-previous-"),
            .quoted(releaseID), .literal("; fi; echo \"previous=$(cat releases/.marshal-previous-"), .quoted(releaseID), .literal(")\""),
        ])
    }

    /// Points `current` at a release atomically: a new symlink renamed over the old one.
    public static func switchCurrent(path: String, releaseID: String) -> ShellCommand {
        ShellCommand([
            .literal("set -e; cd "), .quoted(path), .literal("; test -d releases/"), .quoted(releaseID),
            .literal("; ln -sfn releases/"), .quoted(releaseID), .literal(" current.marshal-tmp && mv -T current.marshal-tmp current"),
        ])
    }

    /// After a release failed past its upload: removes the tarball and the half-made release
    /// dir (only one this release created, and never the live one).
    public static func cleanUpFailed(path: String, releaseID: String, tarball: String, created: Bool) -> ShellCommand {
        var fragments: [ShellCommand.Fragment] = [.literal("cd "), .quoted(path), .literal(" && rm -f -- "), .quoted(tarball)]
        if created {
            fragments += [.literal(" && { [ \"$(readlink current)\" = "), .quoted("releases/" + releaseID),
                          .literal(" ] || rm -rf -- releases/"), .quoted(releaseID), .literal("; }")]
        }
        return ShellCommand(fragments)
    }

    /// Removes all but the newest `keep` releases, never the live one.
    public static func prune(path: String, keep: Int) -> ShellCommand {
        ShellCommand([
            .literal("cd "), .quoted(path),
            .literal("/releases && live=$(basename \"$(readlink ../current)\") && ls -1t | tail -n +\(keep + 1) | while read -r r; do [ \"$r\" = \"$live\" ] || rm -rf -- \"$r\"; done"),
        ])
    }
}
