import Foundation
import MarshalCore
import Testing
@testable import MarshalLoading

/// Each file under Fixtures/malformed holds exactly one mistake, named by the file; expected.txt
/// gives the one diagnostic it must produce, position and message to the letter.
@Suite("Malformed input corpus")
struct MalformedCorpusTests {
    static let directory = Repo.fixtures + "/malformed"

    struct Case: CustomTestStringConvertible, Sendable {
        let file: String
        let expected: String
        var testDescription: String { file }
    }

    static let cases: [Case] = {
        let text = (try? String(contentsOfFile: directory + "/expected.txt", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { line in
            let file = String(line.prefix { $0 != ":" })
            return Case(file: file, expected: String(line))
        }
    }()

    @Test("the corpus has at least 40 cases, one per fixture file")
    func corpusSize() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory).filter { $0.hasSuffix(".yml") }
        #expect(Self.cases.count >= 40)
        #expect(Set(files) == Set(Self.cases.map(\.file)), "every fixture has an expectation and vice versa")
    }

    @Test("each malformed file gives exactly its expected diagnostic", arguments: cases)
    func diagnostic(_ testCase: Case) throws {
        let path = Self.directory + "/" + testCase.file
        let text = try String(contentsOfFile: path, encoding: .utf8)
        // A fixture may name an environment to be validated against: "# with-env: ../valid/env.yml".
        let environment = text.split(separator: "\n").first { $0.hasPrefix("# with-env: ") }
            .map { Self.directory + "/" + $0.dropFirst("# with-env: ".count) }
        let diagnostics = Loader(root: Repo.root).validate(paths: [path], environmentPath: environment)
        let lines = diagnostics.map { $0.description.replacingOccurrences(of: Self.directory + "/", with: "") }
        #expect(lines == [testCase.expected])
    }

    @Test("a file with five mistakes reports all five, in file order")
    func fiveMistakes() {
        let path = Repo.temporaryFile("""
        version: 1
        runbook: five
        targets: all
        strategy:
          batches: [0]
        steps:
          - shel: "true"
          - wait: soon
          - shell: "echo {{ params.nope }}"
            retries: lots
        """)
        let diagnostics = Loader(root: Repo.root).validate(paths: [path], environmentPath: nil)
        let found = diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" }
        #expect(found == [
            "5:13: batch size 0 must be at least 1 host",
            "7:5: unknown step kind 'shel' (did you mean 'shell'?); expected one of: shell, upload, release, service, migrate, backup, restore, sql, http, health, benchmark, probe, metric, redis, soak, approve, wait, notify, include",
            "8:11: 'wait': 'soon' is not a duration; expected a number with a unit such as 500ms, 30s, 2m or 1h",
            "9:18: undefined name 'params.nope': the runbook declares no param 'nope'",
            "10:14: 'retries' must be a whole number, found the string \"lots\"",
        ])
    }
}
