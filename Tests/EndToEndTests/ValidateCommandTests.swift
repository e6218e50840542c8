import Foundation
import Testing

@Suite("marshal validate")
struct ValidateCommandTests {
    @Test("the shipped runbooks and environments validate: exit 0")
    func shipped() async throws {
        let result = try await CLI.run(["validate", "Runbooks", "Environments"])
        #expect(result.status == 0, "\(result.stderr)")
        // Every shipped file counts, so a new runbook does not change the expectation.
        let shipped = try ["Runbooks", "Environments"].flatMap { try FileManager.default.contentsOfDirectory(atPath: CLI.root + "/" + $0) }
            .filter { $0.hasSuffix(".yml") }
        #expect(result.stdout == "\(shipped.count) files valid\n")
        #expect(result.stderr.isEmpty)
    }

    @Test("every malformed fixture: exit 2 and its expected file:line:column message on stderr")
    func corpus() async throws {
        let dir = "Tests/MarshalLoadingTests/Fixtures/malformed"
        let expected = try String(contentsOfFile: CLI.root + "/" + dir + "/expected.txt", encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(expected.count >= 40)
        for line in expected {
            let file = String(line.prefix { $0 != ":" })
            let text = try String(contentsOfFile: CLI.root + "/\(dir)/\(file)", encoding: .utf8)
            var arguments = ["validate", "\(dir)/\(file)"]
            if let env = text.split(separator: "\n").first(where: { $0.hasPrefix("# with-env: ") }) {
                arguments += ["-e", "\(dir)/" + env.dropFirst("# with-env: ".count)]
            }
            let result = try await CLI.run(arguments)
            #expect(result.status == 2, "\(file)")
            #expect(result.stderr.split(separator: "\n").first.map(String.init) == "\(dir)/\(line)", "\(file)")
        }
    }

    @Test("a missing file is an error, not a crash")
    func missing() async throws {
        let result = try await CLI.run(["validate", "no/such/file.yml"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("no/such/file.yml: error: no such file or folder"))
    }
}

@Suite("Command line")
struct CommandLineTests {
    @Test("a usage error (unknown option, missing argument) exits 2, like other invalid input")
    func usage() async throws {
        let unknown = try await CLI.run(["validate", "--bogus"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("Unknown option '--bogus'"))
        let missing = try await CLI.run(["plan"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("Missing expected argument '<runbook>'"))
    }
}
