import Foundation
import MarshalTestSupport
import Testing

/// docs/tutorial.md followed word for word: every `$` line of its console blocks run in order in
/// one shell in an empty folder, against the demo lab, and the output it shows found in what ran
/// (`…` matches anything). It starts with `marshal init`, so this is also init's end-to-end test.
extension DemoLabTests {
    struct TutorialCommand { var command: String; var expected: [String] }

    static func tutorialCommands(_ markdown: String) -> [TutorialCommand] {
        var commands: [TutorialCommand] = []
        for block in markdown.components(separatedBy: "```console\n").dropFirst() {
            for line in (block.components(separatedBy: "```").first ?? "").split(separator: "\n").map(String.init) {
                if line.hasPrefix("$ ") {
                    commands.append(TutorialCommand(command: String(line.dropFirst(2)), expected: []))
                } else if !line.isEmpty, !commands.isEmpty {
                    commands[commands.count - 1].expected.append(line)
                }
            }
        }
        return commands
    }

    /// Expected lines appear in the output in order; `…` stands for any text.
    static func missingLines(_ expected: [String], in output: String) -> [String] {
        var lines = output.split(separator: "\n").map(String.init)[...]
        var missing: [String] = []
        for pattern in expected where pattern != "…" {
            let regex = "^" + pattern.components(separatedBy: "…").map(NSRegularExpression.escapedPattern).joined(separator: ".*") + "\\s*$"
            if let at = lines.firstIndex(where: { $0.range(of: regex, options: .regularExpression) != nil }) {
                lines = lines[(at + 1)...]
            } else {
                missing.append(pattern)
            }
        }
        return missing
    }

    @Test("docs/tutorial.md word for word: marshal init in an empty folder, validate, plan, run with a report, show, rollback")
    func tutorial() async throws {
        try await ensureLab()
        let markdown = try String(contentsOfFile: CLI.root + "/docs/tutorial.md", encoding: .utf8)
        let commands = Self.tutorialCommands(markdown)
        #expect(commands.count >= 9)
        #expect(commands.contains { $0.command.hasPrefix("marshal init ") })
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // One shell, so `cd` carries over; each command's output is framed by markers with its exit status.
        var script = "export PATH=\(URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().path):/usr/bin:/bin NO_COLOR=1\n"
        for (i, step) in commands.enumerated() {
            script += "echo '@@start \(i)'\n\(step.command) 2>&1\necho \"@@end \(i) $?\"\n"
        }
        CLI.write(script, to: dir + "/tutorial.sh")
        let result = try await Spawn.runAsync(["/bin/bash", dir + "/tutorial.sh"], cwd: dir, timeout: 300)
        for (i, step) in commands.enumerated() {
            guard let start = result.stdout.range(of: "@@start \(i)\n"), let end = result.stdout.range(of: "@@end \(i) ") else {
                Issue.record("`\(step.command)` did not run:\n\(result.stdout)\(result.stderr)")
                break
            }
            let output = String(result.stdout[start.upperBound..<end.lowerBound])
            let status = result.stdout[end.upperBound...].prefix { $0.isNumber }
            #expect(status == "0", "`\(step.command)` exited \(status):\n\(output)")
            let missing = Self.missingLines(step.expected, in: output)
            #expect(missing.isEmpty, "`\(step.command)`: the tutorial shows lines the output lacks: \(missing)\n--- output:\n\(output)")
        }
        // What the tutorial promised happened: the report exists, web1 is back on v1.
        #expect(FileManager.default.fileExists(atPath: dir + "/first-rollout/report.md"))
        #expect(try await serving(1) == "v1")
    }
}
