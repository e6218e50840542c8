import Foundation
import MarshalTestSupport
import Testing

/// Issue 12 items 3, 9 and 10: release ids that climb out of `releases/`, tarballs whose entries
/// would escape the release or install devices and setuid files, and a secret read through env.
@Suite("Hostile artifacts and release ids", .serialized)
struct ArtifactSafetyTests {
    /// Writes a gzip tarball with Python's tarfile: entries as (name, kind, extra) where kind is
    /// file, symlink (extra = target), chr, fifo or setuid.
    func tarball(_ path: String, _ entries: [(String, String, String)]) throws {
        let spec = entries.map { "(\"\($0.0)\", \"\($0.1)\", \"\($0.2)\")" }.joined(separator: ", ")
        let script = """
        import io, tarfile
        with tarfile.open("\(path)", "w:gz") as t:
            for name, kind, extra in [\(spec)]:
                i = tarfile.TarInfo(name)
                data = b""
                if kind == "symlink": i.type, i.linkname = tarfile.SYMTYPE, extra
                elif kind == "chr": i.type, i.devmajor, i.devminor = tarfile.CHRTYPE, 1, 3
                elif kind == "fifo": i.type = tarfile.FIFOTYPE
                else:
                    data = b"hello\\n"
                    i.size = len(data)
                    i.mode = 0o4755 if kind == "setuid" else 0o644
                    i.uid, i.gid = 4242, 4242
                t.addfile(i, io.BytesIO(data))
        """
        let result = try Spawn.run(["/usr/bin/python3", "-c", script])
        #expect(result.status == 0, "\(result.stderr)")
    }

    func runbook(_ dir: String, id: String = "{{ params.release }}") -> String {
        CLI.write("""
        version: 1
        runbook: ship
        targets: all
        params:
          release: { type: string, default: v1 }
        steps:
          - release: { artifact: \(dir)/app.tar.gz, path: \(dir)/app, id: "\(id)" }
        """, to: dir + "/runbook.yml")
        return dir + "/runbook.yml"
    }

    func run(_ dir: String, release: String) async throws -> CLI.Result {
        try await CLI.run(["run", runbook(dir), "-e", CLI.localEnvironment(dir, name: "ship"), "--state", dir + "/state",
                           "-p", "release=\(release)"])
    }

    func entries(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    @Test("release id '..' or one holding '/' is refused by validate and by run before anything changes", arguments: ["..", ".", "a/b", "../../etc"])
    func releaseIDs(id: String) async throws {
        let dir = CLI.temporaryDirectory()
        try tarball(dir + "/app.tar.gz", [("index.html", "file", "")])
        let result = try await run(dir, release: id)
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("release id is not usable"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/app"), "something was created: \(entries(dir + "/app"))")

        let constant = runbook(dir, id: id)
        let validated = try await CLI.run(["validate", constant])
        #expect(validated.status == 2)
        #expect(validated.stderr.contains("runbook.yml:7:"), "\(validated.stderr)")
    }

    @Test("a param used as a path component of the release path cannot climb out: '..' and '/' are refused before anything runs")
    func paramInPath() async throws {
        let dir = CLI.temporaryDirectory()
        try tarball(dir + "/app.tar.gz", [("index.html", "file", "")])
        CLI.write("""
        version: 1
        runbook: ship
        targets: all
        params:
          app: { type: string, required: true }
        steps:
          - release: { artifact: \(dir)/app.tar.gz, path: "{{ vars.dir }}/apps/{{ params.app }}", id: v1 }
        """, to: dir + "/runbook.yml")
        let env = CLI.localEnvironment(dir, name: "ship")
        for bad in ["..", "../../etc", "x/y"] {
            let result = try await CLI.run(["run", dir + "/runbook.yml", "-e", env, "--state", dir + "/state", "-p", "app=\(bad)"])
            #expect(result.status == 2, "\(bad): \(result.stdout)\(result.stderr)")
            #expect(result.stderr.contains("param 'app' is '\(bad)'"), "\(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/apps"))
        let good = try await CLI.run(["run", dir + "/runbook.yml", "-e", env, "--state", dir + "/state", "-p", "app=shop"])
        #expect(good.status == 0, "\(good.stdout)")
        #expect(FileManager.default.fileExists(atPath: dir + "/apps/shop/releases/v1/index.html"))
    }

    @Test("a tarball with a link out of the release, a device node or a FIFO is refused; nothing of it stays, not even the upload",
          arguments: [("cfg", "symlink", "/etc/shadow"), ("up", "symlink", "../../../x"), ("null", "chr", ""), ("pipe", "fifo", "")])
    func hostileEntries(name: String, kind: String, extra: String) async throws {
        let dir = CLI.temporaryDirectory()
        try tarball(dir + "/app.tar.gz", [("index.html", "file", ""), (name, kind, extra)])
        let result = try await run(dir, release: "v1")
        #expect(result.status == 1, "\(result.stdout)")
        #expect(result.stdout.contains("refused: the artifact holds"), "\(result.stdout)")
        #expect(entries(dir + "/app/releases") == [], "left behind: \(entries(dir + "/app/releases"))")
        #expect(!FileManager.default.fileExists(atPath: dir + "/app/current"))
    }

    @Test("a corrupt tarball fails and leaves no partial release and no uploaded archive")
    func corruptArchive() async throws {
        let dir = CLI.temporaryDirectory()
        try tarball(dir + "/good.tar.gz", [("index.html", "file", "")])
        let good = try #require(FileManager.default.contents(atPath: dir + "/good.tar.gz"))
        #expect(FileManager.default.createFile(atPath: dir + "/app.tar.gz", contents: good.prefix(good.count / 2) + Data(repeating: 0x41, count: 64)))
        let result = try await run(dir, release: "v1")
        #expect(result.status == 1)
        #expect(entries(dir + "/app/releases") == [], "left behind: \(entries(dir + "/app/releases"))")
    }

    @Test("a setuid file is deployed without its setuid bit, owned by the deploy user, not the archive's uid")
    func setuidStripped() async throws {
        let dir = CLI.temporaryDirectory()
        try tarball(dir + "/app.tar.gz", [("index.html", "file", ""), ("tool", "setuid", ""), ("ok", "symlink", "index.html")])
        let result = try await run(dir, release: "v1")
        #expect(result.status == 0, "\(result.stdout)")
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/app/releases/v1/tool")
        let mode = (attributes[.posixPermissions] as? Int) ?? 0
        #expect(mode & 0o6000 == 0, "mode \(String(mode, radix: 8))")
        #expect((attributes[.ownerAccountID] as? Int) != 4242)
        #expect(FileManager.default.fileExists(atPath: dir + "/app/releases/v1/ok"), "a link inside the release is kept")
        // Beside the release only its one-line marker naming the release live before it (none here).
        #expect(entries(dir + "/app/releases") == [".marshal-previous-v1", "v1"])
        #expect(try String(contentsOfFile: dir + "/app/releases/.marshal-previous-v1", encoding: .utf8) == "\n")
    }

    /// The `.marshal-previous-<id>` marker is a one-line file, not a tree: a re-run after a crash
    /// past the switch needs it to name the release live before (DESIGN: resume), so it stays
    /// while its release is live, and goes when another release is live or its release is pruned.
    @Test("deploying the live release id again replaces its tree (a re-deploy), leaving no staging or old tree behind; markers of releases no longer live are removed")
    func redeploySameID() async throws {
        let dir = CLI.temporaryDirectory()
        try tarball(dir + "/app.tar.gz", [("index.html", "file", "")])
        #expect(try await run(dir, release: "v1").status == 0)
        try tarball(dir + "/app.tar.gz", [("index.html", "file", ""), ("added", "file", "")])
        let again = try await run(dir, release: "v1")
        #expect(again.status == 0, "\(again.stdout)")
        #expect(FileManager.default.fileExists(atPath: dir + "/app/current/added"))
        #expect(entries(dir + "/app/releases") == [".marshal-previous-v1", "v1"])
        var isDirectory: ObjCBool = true
        #expect(FileManager.default.fileExists(atPath: dir + "/app/releases/.marshal-previous-v1", isDirectory: &isDirectory) && !isDirectory.boolValue,
                "the marker is a file, not an old tree")

        #expect(try await run(dir, release: "v2").status == 0)
        #expect(entries(dir + "/app/releases") == [".marshal-previous-v2", "v1", "v2"], "v1's marker has no reader once v2 is live")
        #expect(try String(contentsOfFile: dir + "/app/releases/.marshal-previous-v2", encoding: .utf8) == "v1\n")
    }

    @Test("plan text masks a value read through env that equals a declared secret")
    func planMasksEnvironmentCopies() async throws {
        let dir = CLI.temporaryDirectory()
        let value = "s3cr3t-" + UUID().uuidString
        CLI.write("""
        version: 1
        environment: plan
        transport: local
        hosts:
          here: { address: 127.0.0.1 }
        secrets:
          token: { env: MARSHAL_TEST_TOKEN }
        """, to: dir + "/env.yml")
        CLI.write("""
        version: 1
        runbook: plan
        targets: all
        steps:
          - shell: "deploy --token {{ env.MARSHAL_TEST_TOKEN }}"
        """, to: dir + "/runbook.yml")
        let result = try await CLI.run(["plan", dir + "/runbook.yml", "-e", dir + "/env.yml"], environment: ["MARSHAL_TEST_TOKEN": value])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("deploy --token ***"), "\(result.stdout)")
        #expect(!result.stdout.contains(value))
    }
}
