import ArgumentParser
import Foundation
import MarshalCore
import MarshalLoading

extension MarshalCommand {
    /// `marshal rollback -e ENV [--run RUN_ID] [--plan]`: undo a finished rollout from its journal,
    /// also when the process that ran it is long gone.
    struct Rollback: AsyncParsableCommand, NamesEnvironment, AnswersInFormat {
        static let configuration = CommandConfiguration(
            abstract: "Undo the last (or given) successful rollout of an environment, in reverse, from its journal.",
            discussion: "Each completed step with an `undo` is undone on exactly the hosts where it completed; a release switches `current` back to the release that was live before it. The journal of the run, its resumes and earlier rollbacks decides what is left: an undo that succeeded is not run again, one that failed is retried, one in flight when Marshal stopped is asked about (--rerun/--skip). --plan prints what would be undone, where and in which order, without doing it."
        )

        @OptionGroup var environmentOption: EnvironmentOption

        @Option(name: .customLong("run"), help: "The run to undo (default: the last successful rollout of the environment).")
        var runId: String?

        @Option(help: "An undo (or a change) that was in flight when Marshal stopped: undo it (again) (step id or name; repeatable).")
        var rerun: [String] = []

        @Option(help: "An undo that was in flight when Marshal stopped finished (or a change in flight changed nothing): leave it (step id or name; repeatable).")
        var skip: [String] = []

        @Flag(help: "Only print what would be undone.")
        var plan = false

        @OptionGroup var confirmation: ConfirmationOptions

        @OptionGroup var outputOptions: OutputOptions

        @OptionGroup var documents: DocumentOptions

        @OptionGroup var stateOptions: StateOptions

        @OptionGroup var lockOptions: LockWaitOptions

        func run() async throws {
            let inputs = Inputs()
            let environment = try inputs.environment(self.environment)
            let journal = try stateOptions.journal(for: environment, forRun: !plan)
            defer { journal.close() }
            let target: RunRecord
            do {
                if let runId, runId != RunID.last {
                    target = try await journal.run(id: runId, environment: environment.name)
                    guard target.kind != .rollback else {
                        Terminal.stderr("error: run \(target.id) is itself a rollback; name the rollout to undo")
                        throw ExitCode.invalidInput
                    }
                } else if let last = try await RollbackTarget.latest(in: journal, environment: environment.name) {
                    target = last
                } else {
                    Terminal.stderr("error: no successful rollout of \(environment.name) that changed something in \(journal.location) to roll back (runs that only checked or read are passed over); `marshal runs -e \(environment.name)` lists them")
                    throw ExitCode.invalidInput
                }
            } catch let exit as ExitCode {
                throw exit
            } catch {
                Terminal.stderr("error: \(error)")
                throw ExitCode.invalidInput
            }
            if target.status == .running {
                Terminal.stderr("error: run \(target.id) is still running (pid \(target.pid) on \(target.machine)); it cannot be rolled back while it runs")
                throw ExitCode.couldNotStart
            }
            let pending = try await PendingRollback.load(target, environment: environment, journal: journal, rerun: rerun, skip: skip)
            let (runbook, progress, undo) = (pending.runbook, pending.progress, pending.plan)
            if !undo.questions.isEmpty {
                Terminal.stderr("error: not rolling back run \(target.id): \(undo.questions.joined(separator: "; ")) when Marshal stopped. Marshal will not guess whether it finished. Check the host, then run rollback again with --rerun STEP (undo it again) or --skip STEP (the undo finished; for a forward step: it changed nothing), STEP being \(undo.questionNames.joined(separator: ", ")) as written here. Nothing was changed.")
                throw ExitCode.couldNotStart
            }
            let rolledBackBefore = pending.runs.contains { $0.kind == .rollback && $0.status == .succeeded }
            if undo.entries.isEmpty && rolledBackBefore && !plan {
                Terminal.stderr("error: run \(target.id) was already rolled back; see `marshal runs -e \(environment.name)`")
                throw ExitCode.invalidInput
            }
            let actions = undo.entries.map { entry -> (String, String) in
                let step = entry.expanded.step
                let host = entry.host ?? "this machine"
                let again = entry.retry ? " (again: an earlier attempt failed or was interrupted)" : ""
                var texts: [String] = []
                if entry.parts.contains(.switchBack) {
                    if case .string(let p)? = entry.evidence?["previous"] { texts.append("switch current back to releases/\(p)") }
                    else if entry.evidence == nil { texts.append("switch current back (no evidence of the release before: will fail)") }
                    else { texts.append("switch current back: no earlier release, left as is") }
                }
                if entry.parts.contains(.undoStep), let undo = step.undoStep { texts.append("its \(undo.kind.name) undo step") }
                return (host, "undo '\(step.name)': " + texts.joined(separator: ", then ") + again)
            }
            if plan, !runbook.rollback.isEmpty {
                Terminal.stdout("Rollback plan for run \(target.id) (\(target.runbook) on \(environment.name), \(target.status.rawValue)): the runbook's rollback: list, in this order, on every host the run touched:")
                let steps = try pending.prepared.expand(runbook.rollback, of: runbook, in: environment, includes: pending.includes)
                    .map(\.inRollbackList)
                for (i, expanded) in steps.enumerated() {
                    let done = progress.undos.contains { $0.key.ordinal == expanded.ordinal && $0.value == .succeeded }
                    Terminal.stdout("  \(i + 1). \(expanded.step.name) (\(expanded.step.kind.name))\(done ? " — done on some hosts by an earlier attempt" : "")")
                }
                return
            }
            if plan {
                Terminal.stdout("Rollback plan for run \(target.id) (\(target.runbook) on \(environment.name), \(target.status.rawValue)); in this order:")
                if actions.isEmpty { Terminal.stdout("  nothing to undo: no completed step of that run has an undo left to do") }
                for (i, (host, text)) in actions.enumerated() { Terminal.stdout("  \(i + 1). [\(host)] \(text)") }
                return
            }
            try confirmation.require(environment: environment, runbook: runbook)
            let request = try pending.request(kind: .rollback, parent: target, environment: environment, lockOptions: lockOptions)
            let code = try await RunLauncher.launchRollback(request, progress: progress, plan: undo, journal: journal, output: output,
                                                            includes: pending.includes)
            try await documents.write(runId: request.runId, journal: journal)
            throw ExitCode(code)
        }
    }
}
