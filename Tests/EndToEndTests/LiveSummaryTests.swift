import Foundation
import MarshalTestSupport
import Testing

/// The live (TTY) view of a run on many hosts: a step is one summary line, not a line per host.
@Suite("Live view on many hosts", .serialized)
struct LiveSummaryTests {
    @Test("25 hosts × 2 steps under a pty: one summary line per step with counts, a line only for the failing host")
    func summarises() async throws {
        let lab = try await Lab(hosts: 25)
        let runbook = lab.dir + "/many.yml"
        CLI.write("""
            version: 1
            runbook: many
            targets: all
            strategy: { batches: ["100%"], max_failures: 1 }
            steps:
              - shell: "true"
                name: first
              - shell: "test $MARSHAL_LAB_HOST != web7"
                name: second

            """, to: runbook)
        // script(1) gives marshal a pseudo-terminal, so it draws the live view as for a person.
        let command = [CLI.binary, "run", runbook, "-e", lab.environment, "--state", lab.state]
            .map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let result = try await Shell.run(["/usr/bin/script", "-qefc", "NO_COLOR=1 " + command, "/dev/null"])
        // The live line is redrawn in place (cursor up, erase line): what stays is the rest.
        let lines = result.stdout.replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\u{1B}[1A\u{1B}[2K", with: "")
            .split(separator: "\n").map(String.init)
        #expect(lines.contains("== batch 1/1: 25 hosts (web1, web2, web3, … web25)"), "\(result.stdout)")
        #expect(lines.contains { $0.hasPrefix("[25 hosts] 1. first: succeeded 25 (slowest web") }, "\(result.stdout)")
        #expect(lines.contains { $0.hasPrefix("[25 hosts] 2. second: failed 1, succeeded 24 (slowest web") }, "\(result.stdout)")
        // Only the failure has a host line; 50 host lines would mean no summary.
        let hostLines = lines.filter { $0.hasPrefix("[web") }
        #expect(hostLines.count == 1, "\(hostLines)")
        #expect(hostLines.first?.hasPrefix("[web7] 2. second: failed") == true, "\(hostLines)")
    }
}
