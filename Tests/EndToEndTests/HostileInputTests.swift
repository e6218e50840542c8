import Foundation
import MarshalTestSupport
import Testing

/// Input that would exhaust time or read as a gate failure is refused up front, or bounded
/// (issue 12, items 11 and 12).
@Suite("Hostile input", .serialized)
struct HostileInputTests {
    @Test("a probe regex that backtracks exponentially ((a+)+$ over 43 a's and !) ends within the step's timeout, failing the step and naming the pattern")
    func catastrophicRegex() async throws {
        let dir = CLI.temporaryDirectory()
        let env = CLI.localEnvironment(dir, name: "regex")
        let path = dir + "/regex.yml"
        CLI.write("""
        version: 1
        runbook: regex
        targets: all
        steps:
          - name: backtracking probe
            timeout: 5s
            probe: { command: "printf '\(String(repeating: "a", count: 43))!'", regex: "(a+)+$", expect: "value < 1" }
        """, to: path)
        let result = try await CLI.run(["run", path, "-e", env, "--state", dir + "/state"], timeout: 120)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("was still searching 44 characters after 1s"), "\(result.stdout)")
        // The step, as journaled, ended well within its 5 s timeout (unbounded, the search takes minutes).
        let shown = try await CLI.run(["show", "last", "--state", dir + "/state", "--output", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        let step = try #require((document["steps"] as? [[String: Any]])?.first)
        let took = try #require(step["endedAt"] as? Double) - (try #require(step["startedAt"] as? Double))
        #expect(took < 5, "the step took \(took) s")
    }

    @Test("bench refuses a rate beyond what the generator can schedule, and a threshold naming no metric, with exit 2 before sending")
    func benchInputErrors() async throws {
        let url = "http://127.0.0.1:\(Loopback.closedPort())/x"
        let started = ContinuousClock.now
        let fast = try await CLI.run(["bench", url, "--rate", "1e9", "-d", "2s"], timeout: 30)
        #expect(fast.status == 2, "\(fast.stdout)\(fast.stderr)")
        #expect(fast.stderr.contains("beyond what the load generator can schedule (at most 1000000 per second)"), "\(fast.stderr)")
        // Refused before scheduling anything: unbounded, this run did not end within 30 s.
        #expect(ContinuousClock.now - started < .seconds(10))

        let unknown = try await CLI.run(["bench", url, "-d", "1s", "--threshold", "nosuch < 1"])
        #expect(unknown.status == 2, "\(unknown.stdout)\(unknown.stderr)")
        #expect(unknown.stderr.contains("--threshold #1:1:1: 'nosuch' in 'nosuch < 1' is not a metric"), "\(unknown.stderr)")
        let rightSide = try await CLI.run(["bench", url, "-d", "1s", "--threshold", "p95 < fast"])
        #expect(rightSide.status == 2)
        #expect(rightSide.stderr.contains("--threshold #1:1:7: 'fast'"), "\(rightSide.stderr)")
    }
}

/// Escape sequences and markup from hosts and servers are shown escaped, never obeyed, in every
/// place Marshal prints or writes them; NUL bytes are kept, escaped (issue 12, items 5 and 6).
@Suite("Hostile output", .serialized)
struct HostileOutputTests {
    /// Bytes a hostile host prints: a window title, clear screen, an OSC-8 link, HTML, Markdown,
    /// a bidi override, and a NUL.
    static let hostile: [UInt8] = Array("a".utf8) + [0] + Array("b \u{1B}]0;pwned\u{07}\u{1B}[2J<script>alert(1)</script><b>bold</b>".utf8)
        + Array("\u{1B}]8;;http://evil.example/\u{1B}\\click\u{1B}]8;;\u{1B}\\ *star* [x](http://evil.example/) \u{202E}txt.exe\n".utf8)

    /// No byte of a terminal control sequence, and what the escaped form shows instead.
    func expectInert(_ text: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0 || $0.value == 0x202E },
                "\(what) holds raw control characters: \(text.debugDescription)", sourceLocation: sourceLocation)
        #expect(text.contains("\\x1b"), "\(what) does not show the escape as \\x1b: \(text)", sourceLocation: sourceLocation)
    }

    @Test("a step's output with escapes, HTML and a NUL: escaped in the run's output, show, show --output json and the report; the NUL keeps its bytes")
    func commandOutput() async throws {
        let dir = CLI.temporaryDirectory()
        #expect(FileManager.default.createFile(atPath: dir + "/hostile.bin", contents: Data(Self.hostile)))
        let env = CLI.localEnvironment(dir, name: "hostile")
        let path = dir + "/hostile.yml"
        CLI.write("""
        version: 1
        runbook: hostile
        targets: all
        steps:
          - name: hostile output
            shell: "cat \(dir)/hostile.bin; cat \(dir)/hostile.bin >&2; exit 3"
        """, to: path)
        let run = try await CLI.run(["run", path, "-e", env, "--state", dir + "/state"])
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        expectInert(run.stdout + run.stderr, "the run's output")

        let shown = try await CLI.run(["show", "last", "--state", dir + "/state"])
        expectInert(shown.stdout, "show")
        let json = try await CLI.run(["show", "last", "--state", dir + "/state", "--output", "json"])
        // Registered values (`register:`) are kept exact for later steps' templates, as JSON text
        // inside the document; every field meant for reading is escaped.
        let readable = json.stdout.split(separator: "\n").filter { !$0.contains("\"registeredJSON\"") }.joined(separator: "\n")
        #expect(!readable.contains("\\u001b") && !readable.contains("\\u0000"), "show --output json carries raw controls: \(readable)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let step = try #require((document["steps"] as? [[String: Any]])?.first)
        let stdout = try #require(step["stdout"] as? String)
        #expect(stdout.hasPrefix("a\\x00b \\x1b]0;pwned\\x07\\x1b[2J<script>"), "the journal keeps what follows the NUL: \(stdout.debugDescription)")
        expectInert(stdout, "the journal's stdout excerpt")

        let report = try await CLI.run(["report", "last", "--state", dir + "/state"])
        #expect(report.status == 0, "\(report.stderr)")
        expectInert(report.stdout, "the report")
        #expect(!report.stdout.contains("<script>") && !report.stdout.contains("<b>"), "\(report.stdout)")
        #expect(report.stdout.contains("&lt;script>alert(1)&lt;/script>&lt;b>bold&lt;/b>"), "\(report.stdout)")
        #expect(report.stdout.contains("\\*star\\* [x\\](http://evil.example/)"), "\(report.stdout)")
    }

    @Test("an HTTP body with escapes and HTML quoted by a failing gate: escaped in the run's output, show and the report")
    func httpBody() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let env = CLI.localEnvironment(dir, name: "hostile")
        let path = dir + "/hostile.yml"
        CLI.write("""
        version: 1
        runbook: hostile
        targets: all
        steps:
          - name: hostile body
            health: { url: "\(app.url)/hostile", expect: { status: 200, json: { "$.status": healthy } } }
        """, to: path)
        let run = try await CLI.run(["run", path, "-e", env, "--state", dir + "/state"])
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        expectInert(run.stdout + run.stderr, "the run's output")
        #expect(run.stdout.contains("\\x1b]0;pwned\\x07"), "\(run.stdout)")
        let json = try await CLI.run(["run", path, "-e", env, "--state", dir + "/state2", "--output", "json"])
        #expect(!json.stdout.contains("\\u001b"), "JSON lines carry raw controls: \(json.stdout)")
        #expect(json.stdout.contains("\\\\x1b]0;pwned"), "\(json.stdout)")
        let shown = try await CLI.run(["show", "last", "--state", dir + "/state"])
        expectInert(shown.stdout, "show")
        let report = try await CLI.run(["report", "last", "--state", dir + "/state"])
        expectInert(report.stdout, "the report")
        #expect(!report.stdout.contains("<script>"), "\(report.stdout)")
    }
}
