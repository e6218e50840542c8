import Foundation
import MarshalTestSupport
import Testing

/// A step of an included runbook is a step of the run: an approve step there pauses the run, and the
/// `--approve` that the pause asks for is accepted.
@Suite("Approve steps inside included runbooks")
struct IncludedApprovalTests {
    static let included = """
        version: 1
        runbook: gated
        steps:
          - id: go
            approve: { message: "ship it?" }
          - shell: "echo shipped >> {{ host.vars.dir }}/log"
        """

    static let outer = """
        version: 1
        runbook: outer
        steps:
          - include: gated
        """

    @Test("a run paused at an included approve step resumes with the --approve it asks for (it refused: 'has no approve step of that id'), and run --approve names it up front")
    func resumeWithTheApprovalAskedFor() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = CLI.localEnvironment(dir, name: "lab")
        CLI.write(Self.included, to: dir + "/gated.yml")
        CLI.write(Self.outer, to: dir + "/outer.yml")
        let state = dir + "/state"

        let paused = try await CLI.run(["run", dir + "/outer.yml", "-e", env, "--state", state])
        #expect(paused.stdout.contains("--approve 'go'"), "\(paused.stdout)\(paused.stderr)")
        #expect(try await ShownRun.load("last", state: state).run.status == "paused")
        let resumed = try await CLI.run(["resume", "last", "-e", env, "--state", state, "--approve", "go"])
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
        #expect(try String(contentsOfFile: dir + "/log", encoding: .utf8) == "shipped\n")

        let approvedAtStart = try await CLI.run(["run", dir + "/outer.yml", "-e", env, "--state", state, "--approve", "go"])
        #expect(approvedAtStart.status == 0, "\(approvedAtStart.stdout)\(approvedAtStart.stderr)")
        #expect(try String(contentsOfFile: dir + "/log", encoding: .utf8) == "shipped\nshipped\n")

        let misspelt = try await CLI.run(["run", dir + "/outer.yml", "-e", env, "--state", state, "--approve", "goo"])
        #expect(misspelt.status == 2)
        #expect(misspelt.stderr.contains("--approve goo: runbook 'outer' has no approve step (or gate with on_no_data: pause) of that id or name (did you mean 'go'?)"),
                "\(misspelt.stderr)")
    }
}
