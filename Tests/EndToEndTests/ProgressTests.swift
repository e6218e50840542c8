import Foundation
import MarshalTestSupport
import Testing

/// Long work is not silent: a load test shows elapsed/total, phase, rate, p95 and errors while it
/// runs, redrawn about once a second on a terminal (read here from a real tmux pane), a plain line
/// every 10 s without one, a JSON progress event at the same pace with --output json.
@Suite("Live progress", .serialized)
struct ProgressTests {
    func loadRunbook(_ dir: String, url: String, seconds: Int) -> String {
        CLI.write("""
        version: 1
        runbook: progress
        steps:
          - name: load
            benchmark:
              base_url: "\(url)"
              phases: [ { name: warm, duration: \(seconds)s, rate: 20 } ]
              scenarios: [ { get: /healthy-after/0 } ]
              thresholds: { p95: "< 2s" }
        """, to: dir + "/runbook.yml")
        return dir + "/runbook.yml"
    }

    @Test("under tmux, mid-way through a 10 s load test the pane shows elapsed/total, the phase, the rate against plan, p95 and errors")
    func terminalView() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = CLI.localEnvironment(dir, name: "progress")
        let runbook = loadRunbook(dir, url: app.url, seconds: 10)
        let socket = "marshal-progress-\(UUID().uuidString.prefix(8))"
        let tmux = ["/usr/bin/tmux", "-L", socket]
        let command = "NO_COLOR=1 \(CLI.binary) run \(runbook) -e \(env) --state \(dir)/state > /dev/tty; sleep 60"
        // The pane is read by a sampler process of its own (every 0.2 s, at most 90 s), not by this
        // test's task: in the full suite the test pool's threads can be busy for seconds. Sampler
        // and run start in one tmux command, sampler first, so no such wait can fall between them
        // and leave only snapshots taken after the run ended. Each snapshot is what the terminal
        // showed at that moment.
        let sampler = "i=0; while [ $i -lt 450 ]; do /usr/bin/tmux -L \(socket) capture-pane -p -t run > \(dir)/pane.tmp 2>/dev/null"
            + " && mv \(dir)/pane.tmp \(dir)/pane-$(printf %03d $i).txt; i=$((i+1)); sleep 0.2; done"
        let started = try await Shell.run(tmux + ["new-session", "-d", "-s", "sampler", sampler, ";",
                                                  "new-session", "-d", "-s", "run", "-x", "160", "-y", "20", "-c", dir, command])
        #expect(started.status == 0, "\(started.stderr)")
        defer { _ = try? Shell.runBlocking(tmux + ["kill-server"]) }
        // Wait (with a deadline) until a snapshot shows the step's live line 2 to 9 s in, or one
        // shows the run finished; then look at every snapshot taken.
        let midway = #"0:0[2-9]/0:10"#
        let finished = #"run \S+ \w+ in [0-9.]+s: "#
        func snapshots() -> [String] {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix("pane-") }.sorted()
            return names.compactMap { try? String(contentsOfFile: dir + "/" + $0, encoding: .utf8) }
        }
        func liveLine(_ pane: String) -> String? {
            pane.split(separator: "\n").first { $0.contains("⋯ [local] load — ") && $0.range(of: midway, options: .regularExpression) != nil }.map(String.init)
        }
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            let panes = snapshots()
            if panes.contains(where: { liveLine($0) != nil || $0.range(of: finished, options: .regularExpression) != nil }) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let panes = snapshots()
        let pane = panes.first { liveLine($0) != nil } ?? panes.last ?? ""
        let line = liveLine(pane) ?? ""
        #expect(line.range(of: #"0:0[2-9]/0:10 · phase warm · [0-9.]+ req/s \(plan 20\) · p95 [0-9.]+ ms · [0-9]+ requests, 0 errors"#,
                           options: .regularExpression) != nil, "pane mid-way:\n\(pane)")
        #expect(pane.split(separator: "\n").filter { $0.contains("⋯ [local]") }.count == 1, "one line per running step:\n\(pane)")
    }

    @Test("without a terminal: one plain progress line per 10 s of a 12 s load test; with --output json, a progress event")
    func plainAndJSON() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = CLI.localEnvironment(dir, name: "progress")
        let runbook = loadRunbook(dir, url: app.url, seconds: 12)
        let plain = try await CLI.run(["run", runbook, "-e", env, "--state", dir + "/state"])
        #expect(plain.status == 0, "\(plain.stdout)\(plain.stderr)")
        let lines = plain.stdout.split(separator: "\n").filter { $0.contains("[local] 1. load: 0:") }
        #expect(lines.count == 1, "\(plain.stdout)")
        #expect(lines.first?.range(of: #"\[local\] 1\. load: 0:1[01]/0:12 · phase warm · [0-9.]+ req/s \(plan 20\) · p95 [0-9.]+ ms · [0-9]+ requests, 0 errors$"#,
                                   options: .regularExpression) != nil, "\(plain.stdout)")

        let json = try await CLI.run(["run", runbook, "-e", env, "--state", dir + "/state", "--output", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        let events = json.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let progress = events.filter { $0["event"] as? String == "progress" }
        #expect(progress.count == 1, "\(json.stdout)")
        if let event = progress.first {
            #expect((event["elapsed"] as? Double).map { $0 >= 10 && $0 < 12 } == true)
            #expect(event["total"] as? Double == 12)
            #expect(event["load_phase"] as? String == "warm")
            #expect(event["p95"] is Double && event["rate"] is Double && event["errors"] as? Int == 0)
        }
    }
}
