import Foundation
import MarshalTestSupport
import Testing

/// A journal that cannot be trusted is treated as such (issue 12, item 13), on this machine with
/// `transport: local`: a journal another process keeps locked, a damaged file, evidence that cannot be kept.
@Suite("a journal that cannot be trusted")
struct JournalTrustTests {
    static let runbook = """
    version: 1
    runbook: gate
    steps:
      - name: queue depth
        probe: { command: "echo 'queue depth: 42'", regex: "depth: ([0-9]+)", expect: "value < 50" }
    """

    /// A folder with the local environment, the runbook and a journal holding one run.
    func prepared() async throws -> (dir: String, state: String) {
        let dir = CLI.temporaryDirectory()
        _ = CLI.localEnvironment(dir, name: "trust")
        CLI.write(Self.runbook, to: dir + "/gate.yml")
        let state = dir + "/state"
        let first = try await CLI.run(["run", dir + "/gate.yml", "-e", dir + "/env.yml", "--state", state])
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        return (dir, state)
    }

    @Test("a journal held exclusively by another process: the run gives up within the busy timeout and names that process (exit 3)")
    func heldJournalNamesHolder() async throws {
        let (dir, state) = try await prepared()
        let marker = dir + "/holding"
        let holder = try Spawn.start(["/usr/bin/python3", "-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute('BEGIN EXCLUSIVE')
            open(sys.argv[2], 'w').close()
            time.sleep(120)
            """, state + "/journal.sqlite", marker])
        defer {
            kill(holder, SIGKILL)
            _ = Spawn.wait(holder, timeout: 10)
        }
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: marker), Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let started = Date()
        let result = try await CLI.run(["run", dir + "/gate.yml", "-e", dir + "/env.yml", "--state", state], timeout: 60)
        let took = Date().timeIntervalSince(started)
        #expect(result.status == 3, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("pid \(holder) (python3)"), "\(result.stderr)")
        #expect(took < 25, "gave up after the busy timeout, took \(took) s")
    }

    @Test("a damaged page: run refuses before anything runs, naming the file (exit 3)")
    func damagedJournalRefused() async throws {
        let (dir, state) = try await prepared()
        let path = state + "/journal.sqlite"
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        let size = try handle.seekToEnd()
        #expect(size >= 8192, "the run is in the .sqlite file itself (checkpointed)")
        try handle.seek(toOffset: 4096)
        handle.write(Data(repeating: 0xA5, count: Int(min(size - 4096, 8192))))
        try handle.close()
        let result = try await CLI.run(["run", dir + "/gate.yml", "-e", dir + "/env.yml", "--state", state])
        #expect(result.status == 3, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("damaged") && result.stderr.contains(path), "\(result.stderr)")
        #expect(!result.stdout.contains("queue depth"), "no step ran")
    }

    @Test("a measurement the journal refuses fails its step (exit 1) instead of passing without evidence")
    func unrecordedMeasurementFailsStep() async throws {
        let (dir, state) = try await prepared()
        let trigger = try await Spawn.runAsync(["/usr/bin/sqlite3", state + "/journal.sqlite",
            "CREATE TRIGGER refuse BEFORE INSERT ON measurements BEGIN SELECT RAISE(ABORT, 'measurements refused'); END;"])
        #expect(trigger.status == 0, "\(trigger.stderr)")
        let result = try await CLI.run(["run", dir + "/gate.yml", "-e", dir + "/env.yml", "--state", state])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let shown = try await CLI.run(["show", "last", "--state", state])
        #expect(shown.stdout.contains("could not be recorded") && shown.stdout.contains("failed"), "\(shown.stdout)")
    }
}
