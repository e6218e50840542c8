import Foundation
import Testing

/// The plan is the program: what a run sends to its hosts is what `marshal plan` printed. Each
/// shipped runbook runs against the demo lab (Environments/local.yml); then every command the
/// journal holds for a shell, service, release, backup, migrate, restore or sql step must appear,
/// byte for byte, among that host's commands in `marshal plan --output json` with the same params,
/// rendered for that run's id (`--as-run`; without it the id is the reference `{{ run.id }}`).
extension DemoLabTests {
    static let commandKinds: Set<String> = ["shell", "service", "release", "backup", "migrate", "restore", "sql"]

    struct JournaledStep: Decodable {
        var kind: String; var phase: String; var host: String?; var status: String; var command: String?; var registeredJSON: String?
    }
    struct Journaled: Decodable {
        struct Run: Decodable { var id: String; var status: String }
        var run: Run
        var steps: [JournaledStep]
    }
    struct PlannedAction: Decodable { var host: String?; var command: String? }
    struct PlannedStep: Decodable { var kind: String; var actions: [PlannedAction] }
    struct PlannedBatch: Decodable { var steps: [PlannedStep] }
    struct PlanDocument: Decodable { var preflight: [PlannedStep]; var batches: [PlannedBatch] }

    /// Runs `runbook` with `params`, then checks its journaled commands against its plan; returns the journal.
    func runAndCompare(_ runbook: String, _ params: [String], state: String) async throws -> Journaled {
        let flags = params.flatMap { ["-p", $0] }
        let run = try await CLI.run(["run", runbook, "-e", "local", "--state", state] + flags, timeout: 300)
        #expect(run.status == 0, "\(runbook): \(run.stdout)\(run.stderr)")
        let shown = try await CLI.run(["show", "last", "--state", state, "--output", "json"])
        let journal = try JSONDecoder().decode(Journaled.self, from: Data(shown.stdout.utf8))
        let planned = try await CLI.run(["plan", runbook, "-e", "local", "--output", "json", "--as-run", journal.run.id] + flags)
        try #require(planned.status == 0, "\(planned.stderr)")
        let plan = try JSONDecoder().decode(PlanDocument.self, from: Data(planned.stdout.utf8))
        var byHost: [String: Set<String>] = [:]
        for step in plan.preflight + plan.batches.flatMap(\.steps) {
            for action in step.actions { if let command = action.command { byHost[action.host ?? "-", default: []].insert(command) } }
        }
        let checked = journal.steps.filter { Self.commandKinds.contains($0.kind) && $0.phase != "undo" }
        #expect(!checked.isEmpty, "\(runbook) journaled no command step")
        for step in checked {
            let command = try #require(step.command, "\(runbook): a \(step.kind) step on \(step.host ?? "-") journaled no command")
            #expect(byHost[step.host ?? "-"]?.contains(command) == true,
                    "\(runbook): \(step.kind) on \(step.host ?? "-") sent a command its plan does not show:\n\(command)")
        }
        // `show` prints what was sent, each command's first line under its step.
        let text = try await CLI.run(["show", "last", "--state", state, "--lines", "0"])
        for step in checked.prefix(3) {
            let first = step.command?.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? "?"
            #expect(text.stdout.contains("      $ " + first), "\(runbook): show does not print \(first)")
        }
        return journal
    }

    @Test("every command a run of each shipped runbook journals (shell, service, release, backup, migrate, restore, sql) is in its plan, byte for byte; the plan's backup path is the file the run writes")
    func runCommandsAreThePlan() async throws {
        try await ensureLab()
        let state = CLI.temporaryDirectory() + "/state"
        let build = "artifact_dir=/tmp/marshal-lab/build"
        _ = try await runAndCompare("staging-deploy", ["release=v2", build], state: state)
        let rollout = try await runAndCompare("production-rollout", ["release=v1", build], state: state)

        // The backup's path in the plan (for that run's id) is the path the run recorded and wrote.
        let backup = try #require(rollout.steps.first { $0.kind == "backup" })
        let evidence = try #require(backup.registeredJSON.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        let path = try #require(evidence["path"] as? String)
        #expect(path == "/tmp/marshal-lab/backups/\(rollout.run.id).dump")
        #expect(backup.command?.contains(path) == true)
        #expect(FileManager.default.fileExists(atPath: path))

        // queue-workers (reference 004): stop the workers, release, migrate, start them, gate on Redis.
        let workers = try await runAndCompare("queue-workers", ["release=v2", build], state: state)
        #expect(workers.steps.filter { $0.kind == "service" }.count == 10, "stop and start on the five web hosts")
        // The rollback runbook restores that backup (the database as it is now) and switches back
        // to v1, which leaves the lab as the suite's later tests (the tutorial) expect it.
        let rolledBack = try await runAndCompare("rollback", ["to_release=v1", "backup=\(path)"], state: state)
        #expect(rolledBack.steps.contains { $0.kind == "restore" && $0.status == "succeeded" })
        // validation's only command steps are its preflight sql checks; its load test runs 22
        // minutes, so the copy run here keeps the preflight and replaces the steps with a wait.
        let text = try String(contentsOfFile: CLI.root + "/Runbooks/validation.yml", encoding: .utf8)
        let preflightOnly = try #require(text.components(separatedBy: "\nsteps:").first) + "\nsteps:\n  - wait: 1s\n"
        let copy = CLI.temporaryDirectory() + "/validation.yml"
        CLI.write(preflightOnly, to: copy)
        let validation = try await runAndCompare(copy, [], state: state)
        #expect(validation.steps.filter { $0.kind == "sql" }.count == 2)
    }
}
