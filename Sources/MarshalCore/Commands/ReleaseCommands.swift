/// Capistrano-style release layout commands: `PATH/releases/<id>/`, `PATH/current` symlink.
public enum ReleaseCommands {
    /// Unpacks an uploaded tarball into a new release dir and prints the release that was live.
    ///
    /// The archive is not trusted, though tar runs as the deploy user (often root): it is unpacked
    /// into a staging dir without its owners or permission bits (`--no-same-owner
    /// --no-same-permissions`; GNU tar already refuses members named with `..` and defers links
    /// that could be written through), then refused if it holds device nodes, FIFOs or sockets, or
    /// a symbolic link resolving outside the release; setuid/setgid bits are cleared. Only then is
    /// it renamed to `releases/<id>` (replacing a tree of the same id). On any failure the staging dir and the uploaded archive are
    /// removed, so nothing half-unpacked is left behind.
    public static func unpack(path: String, releaseID: String, tarball: String) -> ShellCommand {
        let release = "releases/" + releaseID
        let stage = "releases/.marshal-stage-" + releaseID
        return ShellCommand([
            // Whether the release dir was there before says whether a later failure may remove it.
            .literal("set -e; cd "), .quoted(path), .literal("; if [ -e "), .quoted(release), .literal(" ]; then echo existed=yes; else echo existed=no; fi"),
            .literal("; stage="), .quoted(stage), .literal("; tarball="), .quoted(tarball),
            .literal("; trap 'rc=$?; if [ $rc -ne 0 ]; then rm -rf -- \"$stage\"; rm -f -- \"$tarball\"; fi' EXIT"),
            .literal("; rm -rf -- \"$stage\"; mkdir -p -- \"$stage\""),
            .literal("; tar -xzf \"$tarball\" -C \"$stage\" --no-same-owner --no-same-permissions"),
            .literal("; base=$(cd \"$stage\" && pwd -P)"),
            .literal("; special=$(find \"$stage\" \\( -type b -o -type c -o -type p -o -type s \\) -printf '%P ' | head -c 300)"),
            .literal("; if [ -n \"$special\" ]; then echo \"refused: the artifact holds device nodes, FIFOs or sockets: $special\" >&2; exit 4; fi"),
            .literal("; escaping=$(find \"$stage\" -type l -exec sh -c 's=$1; shift; for l; do t=$(realpath -m -- \"$l\"); case \"$t\" in \"$0\"|\"$0\"/*) ;; *) printf \"%s -> %s \" \"${l#$s/}\" \"$(readlink -- \"$l\")\";; esac; done' \"$base\" \"$stage\" {} + | head -c 300)"),
            .literal("; if [ -n \"$escaping\" ]; then echo \"refused: the artifact holds links leading outside the release: $escaping\" >&2; exit 4; fi"),
            .literal("; find \"$stage\" \\( -type f -o -type d \\) -perm /6000 -exec chmod ug-s -- {} +"),
            // The same id again (a re-deploy) replaces the old tree by two renames, so `current`,
            // which names releases/<id>, is never left pointing into a half-written tree.
            .literal("; old="), .quoted("releases/.marshal-old-" + releaseID), .literal("; rm -rf -- \"$old\"; if [ -e "), .quoted(release),
            .literal(" ]; then mv -T -- "), .quoted(release), .literal(" \"$old\"; fi; mv -T -- \"$stage\" "), .quoted(release),
            .literal("; rm -rf -- \"$old\""),
            // tar restores the archived mtime of `.`; prune orders releases by mtime, so stamp it now.
            .literal("; touch "), .quoted(release),
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

    /// Removes all but the newest `keep` releases, never the live one, and every
    /// `.marshal-previous-<id>` marker but the live release's.
    ///
    /// The marker is read only by `unpack` of the id that is live (a re-run after a crash past the
    /// switch, before the step's success was journaled); for any other id `unpack` writes it
    /// afresh, and the undo reads `previous` from the journaled evidence. So once another release
    /// is live, or a release is pruned, its marker has no reader and goes with it.
    public static func prune(path: String, keep: Int) -> ShellCommand {
        ShellCommand([
            .literal("cd "), .quoted(path),
            .literal("/releases && live=$(basename \"$(readlink ../current)\") && ls -1t | tail -n +\(keep + 1) | while read -r r; do [ \"$r\" = \"$live\" ] || rm -rf -- \"$r\"; done"),
            .literal(" && for m in .marshal-previous-*; do [ \"$m\" = \".marshal-previous-$live\" ] || rm -f -- \"$m\"; done"),
        ])
    }
}
