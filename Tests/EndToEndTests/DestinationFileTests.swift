import Foundation
import MarshalTestSupport
import Testing

/// A file named on the command line goes into a folder that is checked while the command line is
/// read: a typo in it is exit 2 before anything runs or is built, not an error at the end.
@Suite("Files named on the command line")
struct DestinationFileTests {
    @Test("--report, --junit (run) and -o (report, schema) in a missing folder: exit 2 naming the folder, nothing run or written (report built the document, then printed an NSError dump)")
    func missingFolderRefusedFirst() async throws {
        try await CLI.inLocalProject { dir, env in
            CLI.write("""
            version: 1
            runbook: marks
            steps:
              - shell: "echo ran >> {{ host.vars.dir }}/log"
            """, to: dir + "/marks.yml")
            let missing = dir + "/no-such-folder"
            for flag in ["--report", "--junit"] {
                let run = try await CLI.run(["run", dir + "/marks.yml", "-e", env, "--state", dir + "/state", flag, missing + "/out"])
                #expect(run.status == 2)
                #expect(run.stderr.contains("error: \(flag) \(missing)/out: the folder \(missing) does not exist or is not writable; nothing was run"),
                        "\(run.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: dir + "/log"), "a step ran")

            let good = try await CLI.run(["run", dir + "/marks.yml", "-e", env, "--state", dir + "/state"])
            #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
            for command in [["report", "last", "--state", dir + "/state"], ["schema", "runbook"]] {
                let result = try await CLI.run(command + ["-o", missing + "/out.md"])
                #expect(result.status == 2)
                #expect(result.stderr == "error: --output \(missing)/out.md: the folder \(missing) does not exist or is not writable; nothing was written\n",
                        "\(result.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: missing))
        }
    }
}
