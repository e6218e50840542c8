import Foundation
import MarshalTestSupport
import Testing

/// Includes that include each other never end: the cycle is an error at the include that closes
/// it, with the runbooks in order, before anything runs.
@Suite("Include cycles")
struct IncludeCycleTests {
    @Test("validate, plan and run name an include cycle at the include that closes it, at its file:line:column (they said 'include: error: …: includes nest more than 8 deep')")
    func cycleNamed() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = CLI.localEnvironment(dir, name: "lab")
        CLI.write("version: 1\nrunbook: first\nsteps:\n  - include: second\n", to: dir + "/first.yml")
        CLI.write("version: 1\nrunbook: second\nsteps:\n  - shell: \"true\"\n  - include: first\n", to: dir + "/second.yml")
        let expected = "\(dir)/second.yml:5:14: error: runbook 'first' includes itself through first → second → first: the steps would never end"
        for command in [["validate", dir + "/first.yml"], ["plan", dir + "/first.yml"], ["run", dir + "/first.yml", "--state", dir + "/state"]] {
            let result = try await CLI.run(command + ["-e", env])
            #expect(result.status == 2, "\(command[0]): \(result.stdout)\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").first.map(String.init) == expected, "\(command[0]): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/state/journal.sqlite"), "the run was refused before it opened the journal")
    }
}
