import ArgumentParser
import Foundation
import MarshalCore
import MarshalLoading

extension MarshalCommand {
    /// `marshal rollback -e ENV [--run RUN_ID] [--plan]`: undo a finished rollout from its journal,
    /// also when the process that ran it is long gone.
    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Undo the last (or given) successful rollout of an environment, in reverse, from its journal.",
            discussion: "Each completed step with an `undo` is undone on exactly the hosts where it completed; a release switches `current` back to the release that was live before it. --plan prints what would be undone, where and in which order, without doing it."
        )

        @Option(name: .shortAndLong, help: "Environment name (Environments/NAME.yml) or path.")
        var environment: String

        @Option(name: .customLong("run"), help: "The run to undo (default: the last successful rollout of the environment).")
        var runId: String?

        @Flag(help: "Only print what would be undone.")
        var plan = false

        @Flag(help: "Confirm a protected environment without a terminal.")
        var yes = false

        @Option(help: "Approve explicitly (the environment's name), required for a protected environment without a terminal.")
        var approve: [String] = []

        @Option(help: "text or json.")
        var output: OutputFormat = .text

        @OptionGroup var documents: DocumentOptions

        @OptionGroup var stateOptions: StateOptions

        @OptionGroup var lockOptions: LockWaitOptions

        func run() async throws {
            try documents.check()
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
            let undoneBefore = try await journal.runs(matching: RunQuery(environment: environment.name, kinds: [.rollback], statuses: [.succeeded]))
                .contains { $0.parentRunId == target.id }
            if undoneBefore {
                Terminal.stderr("error: run \(target.id) was already rolled back; see `marshal runs -e \(environment.name)`")
                throw ExitCode.invalidInput
            }
            let records = try await RunChain.records(endingAt: target, journal: journal, throughRollbacks: true)
            let (runbook, includes) = try JournaledRunbook.load(for: target, against: environment)
            let prepared = try RunPreparation.prepare(runbook: runbook, environment: environment,
                                                      params: target.params.map { ($0.key, $0.value) }, limit: nil, approvals: [])
            let progress = PriorProgress.from(records)
            let expanded = try ExpandedStep.expand(runbook.steps, runbook: runbook, resolver: includes, renderer: TemplateRenderer(),
                                                   scope: TemplateScope(params: prepared.params))
            let actions = progress.finished.reversed().compactMap { finished -> (String, String)? in
                guard finished.key.phase == "main", finished.succeeded,
                      let step = expanded.first(where: { $0.ordinal == finished.key.ordinal })?.step else { return nil }
                let host = finished.key.host ?? "this machine"
                let then = step.undoStep.map { ", then its \($0.kind.name) undo step" } ?? ""
                if case .release = step.kind {
                    let previous: String
                    if case .string(let p)? = finished.evidence?["previous"] { previous = "releases/\(p)" } else { previous = "(no earlier release: left as is)" }
                    return (host, "undo '\(step.name)': switch current back to \(previous)\(then)")
                }
                if let undo = step.undoStep { return (host, "undo '\(step.name)' with its \(undo.kind.name) step") }
                return nil
            }
            if plan {
                Terminal.stdout("Rollback plan for run \(target.id) (\(target.runbook) on \(environment.name), \(target.status.rawValue)); in this order:")
                if actions.isEmpty { Terminal.stdout("  nothing to undo: no completed step of that run has an undo") }
                for (i, (host, text)) in actions.enumerated() { Terminal.stdout("  \(i + 1). [\(host)] \(text)") }
                return
            }
            try Confirmation.require(environment: environment, runbook: runbook, yes: yes, approvals: approve)
            var request = RunRequest(
                runId: RunID.make(startedAt: Date()), runbook: runbook, environment: environment, params: prepared.params,
                secrets: prepared.secrets, processEnvironment: ProcessInfo.processInfo.environment,
                operatorName: Operator.name, pid: getpid(), kind: .rollback, parentRunId: target.id)
            request.prior = nil
            try lockOptions.apply(to: &request)
            request.documents = JournaledRunbook.documents(of: target)
            let code = try await RunLauncher.launchRollback(request, completed: progress.finished, journal: journal, output: output, includes: includes)
            try await documents.write(runId: request.runId, journal: journal)
            throw ExitCode(code)
        }
    }
}
