import Foundation
import MarshalTestSupport
import Testing

/// `make install` lays out a binary that works from any folder: no Templates/ beside it, no checkout.
/// (The release build half of `make install` is `swift build -c release`; this test installs the
/// binary under test with `make install-files`, since SwiftPM's build folder is locked while tests run.
/// scripts/dist-check covers the static `make dist` binary with the toolchain hidden.)
@Suite("make install", .serialized)
struct InstallTests {
    @Test("make install-files PREFIX=tmp: bin/marshal run from another folder writes the report; completions and templates in place")
    func installedBinaryRunsAnywhere() async throws {
        let prefix = CLI.temporaryDirectory()
        let project = CLI.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: prefix)
            try? FileManager.default.removeItem(atPath: project)
        }
        let install = try await Shell.run(["/usr/bin/make", "-C", CLI.root, "--no-print-directory", "install-files",
                                           "PREFIX=\(prefix)", "INSTALL_BIN=\(CLI.binary)"])
        #expect(install.status == 0, "\(install.stdout)\(install.stderr)")
        for path in ["bin/marshal", "share/marshal/templates/optimization-results.md",
                     "share/bash-completion/completions/marshal", "share/zsh/site-functions/_marshal",
                     "share/fish/vendor_completions.d/marshal.fish", "share/man/man1/marshal.1"] {
            #expect(FileManager.default.fileExists(atPath: prefix + "/" + path), "\(path) installed")
        }
        // The man page documents every subcommand the binary has (make man regenerates it).
        let man = try String(contentsOfFile: prefix + "/share/man/man1/marshal.1", encoding: .utf8)
        for command in ["validate", "plan", "run", "show", "schema", "docs", "init"] {
            #expect(man.contains(command), "man page mentions \(command)")
        }
        // A project folder with no Templates/ and no relation to the checkout.
        try FileManager.default.createDirectory(atPath: project + "/Runbooks", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: project + "/Environments", withIntermediateDirectories: true)
        CLI.write("""
        version: 1
        environment: here
        transport: local
        hosts:
          here: { address: 127.0.0.1 }
        """, to: project + "/Environments/here.yml")
        CLI.write("""
        version: 1
        runbook: hello
        steps:
          - shell: echo hello from an installed marshal
        """, to: project + "/Runbooks/hello.yml")
        let binary = prefix + "/bin/marshal"
        let run = try await Spawn.runAsync([binary, "run", "hello", "-e", "here", "--report", "report.md"],
                                           environment: ["NO_COLOR": "1"], cwd: project)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let report = try String(contentsOfFile: project + "/report.md", encoding: .utf8)
        #expect(report.hasPrefix("# "), "the report has its title")
        #expect(report.contains("hello"), "the report names the runbook")
        // The binary alone, copied where no templates are (a CI runner, a bastion): the built-in template.
        let lone = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: lone) }
        // Copied by a child process, not in this one: a file this multi-threaded test process holds
        // open for writing is inherited by any child another test forks meanwhile, and exec of it
        // then fails with ETXTBSY ("Text file busy"), as a full-suite run once showed.
        let copy = try await Spawn.runAsync(["/bin/cp", binary, lone + "/marshal"])
        #expect(copy.status == 0, "\(copy.stderr)")
        let copied = try await Spawn.runAsync([lone + "/marshal", "run", "hello", "-e", "here", "--report", "copied.md"],
                                              environment: ["NO_COLOR": "1"], cwd: project)
        #expect(copied.status == 0, "\(copied.stdout)\(copied.stderr)")
        #expect((try? String(contentsOfFile: project + "/copied.md", encoding: .utf8))?.hasPrefix("# ") == true)
        let version = try await Spawn.runAsync([binary, "--version"], cwd: project)
        #expect(version.status == 0)
        #expect(version.stdout.contains("(commit "), "version names the commit: \(version.stdout)")
        #expect(version.stdout.split(separator: " ").first.map(String.init) == "0.1.0")
    }
}
