import ArgumentParser
import Foundation
import MarshalCore
import MarshalJournal
import MarshalLoading

extension MarshalCommand {
    /// `marshal resume RUN_ID`: finish an interrupted or paused run with the same inputs, skipping
    /// every step × host the journal shows as finished.
    struct Resume: AsyncParsableCommand, AnswersInFormat {
        static let configuration = CommandConfiguration(
            abstract: "Continue an interrupted, aborted (Ctrl-C) or paused run, skipping what already finished.",
            discussion: "A step that was in flight when the run stopped is run again only if it only reads or waits (health, http GET, probe, read-only sql, metric, wait, benchmark) or is marked idempotent: true. For any other, resume stops before changing anything and names it: choose --rerun STEP or --skip STEP."
        )

        @OptionGroup var named: NamedRun

        @Option(help: "Run this in-flight step (or undo, when the run was rolling back) again (id or name, or STEP@HOST for one host; repeatable).")
        var rerun: [String] = []

        @Option(help: "Treat this in-flight step (or undo) as done (id or name, or STEP@HOST for one host; repeatable).")
        var skip: [String] = []

        @Option(help: "Approve an approve step by id or name (repeatable).")
        var approve: [String] = []

        @OptionGroup var outputOptions: OutputOptions

        @OptionGroup var documents: DocumentOptions

        @OptionGroup var lockOptions: LockWaitOptions

        func run() async throws {
            let (journal, original) = try await named.open(forRun: true)
            defer { journal.close() }
            guard [.interrupted, .paused, .running, .aborted].contains(original.status) else {
                Terminal.stderr("error: run \(original.id) ended as \(original.status.rawValue); only an interrupted, aborted (Ctrl-C) or paused run can be resumed")
                throw ExitCode.invalidInput
            }
            if original.status == .running {
                Terminal.stderr("error: run \(original.id) is still running (pid \(original.pid) on \(original.machine)); it cannot be resumed while it runs")
                throw ExitCode.couldNotStart
            }
            let records = try await RunChain.records(endingAt: original, journal: journal, throughRollbacks: false)
            if PriorProgress.from(records).rollingBack {
                // The run had decided to roll back: continue that, never the forward steps.
                try await continueRollback(original, journal: journal)
                return
            }
            // A run goes on once: resumed again, its remaining steps would run a second time; rolled
            // back, they would run on top of what was undone.
            let family = try await RunChain.family(of: original, journal: journal)
            // A rollback of any run of the story (this one, the run it resumed, a resume of it) ends it.
            let rolledBack = family.runs.first { $0.kind == .rollback }
            if let next = rolledBack ?? original.continuations(among: family.runs).first {
                // What can go on: a resume that stopped, or a rollback that did not finish undoing.
                let unfinished = next.kind == .rollback ? next.status != .succeeded : [.interrupted, .paused, .aborted].contains(next.status)
                let why = next.kind == .rollback
                    ? "was rolled back\(next.parentRunId == original.id ? "" : " with run \(next.parentRunId ?? "?")") by run \(next.id) (\(next.status.rawValue)); resuming it would run its remaining steps on top of what was undone"
                    : "was already resumed by run \(next.id) (\(next.status.rawValue)); resuming it again would run its remaining steps twice"
                let instead = switch (next.kind, unfinished) {
                case _ where next.status == .running: "let run \(next.id) finish (`marshal show \(next.id)`)"
                case (.rollback, true): "finish the rollback with `marshal rollback -e \(original.environment) --run \(original.id)`, or start a new run"
                case (.rollback, false): "start a new run"
                case (_, true): "resume \(next.id) instead"
                case (_, false): "start a new run"
                }
                Terminal.stderr("error: run \(original.id) \(why). Nothing was changed: \(instead)")
                throw ExitCode.invalidInput
            }

            let inputs = ResumeInputs.decode(original.inputsJSON)
            let loader = Inputs()
            let environment = try loader.environment(inputs.environmentPath ?? original.environment)
            let locked = StateLocation.withHostLock(ifEmbedded: journal, environment: environment)
            let (runbook, includes) = try JournaledRunbook.load(for: original, against: environment)
            let prepared = try RunPreparation.prepare(runbook: runbook, environment: environment,
                                                      params: original.params.map { ($0.key, $0.value) }, limit: inputs.limit?.joined(separator: ","),
                                                      approvals: approve, includes: includes)
            var prior = PriorProgress.from(records)
            let expanded = try prepared.expand(runbook.preflight, of: runbook, in: environment, includes: includes)
                .map { (StepRecord.Phase.preflight, $0) }
                + prepared.expand(runbook.steps, of: runbook, in: environment, includes: includes).map { (StepRecord.Phase.main, $0) }
            // Steps resume must not guess about: those in flight when the run died and, after a
            // Ctrl-C (aborted), those that ended failed (an interrupted wait or load test re-runs
            // by itself; a failed change needs the operator's word).
            var questions = prior.inFlight.map { ($0, "was in flight on") }
            if original.status == .aborted || original.status == .interrupted {
                // A change that failed in a run that then died (before it could roll back) is not
                // run again blindly either; a failed check just runs again.
                for r in records where r.runId == original.id && (r.phase == .main || r.phase == .preflight) && [.failed, .timedOut].contains(r.status) {
                    let key = PriorProgress.Key(phase: r.phase, ordinal: r.stepIndex, host: r.host, batch: r.batch)
                    questions.append((PriorProgress.InFlight(key: key, name: r.name, stepId: r.stepId), "had failed on"))
                }
            }
            var blocked: [String] = []
            var blockedNames: [String] = []
            for (flight, how) in questions {
                guard let step = expanded.first(where: { $0.0 == flight.key.phase && $0.1.ordinal == flight.key.ordinal })?.1.step else { continue }
                let names = step.commandLineNames(on: flight.key.host)
                if names.contains(where: skip.contains) {
                    prior.finished.append(.init(key: flight.key, name: step.name, stepId: step.id, evidence: nil, succeeded: false))
                } else if step.isSafeToRerun || names.contains(where: rerun.contains) {
                    prior.rerun.insert(flight.key)
                } else {
                    blocked.append("'\(step.id ?? step.name)' (\(step.kind.name)) \(how) \(flight.key.host ?? "this machine")")
                    blockedNames.append(ShellQuote.quote(step.id ?? step.name))
                }
            }
            if !blocked.isEmpty {
                Terminal.stderr("error: not resuming run \(original.id): \(blocked.joined(separator: "; ")) when the run stopped. It changes things, so Marshal will not guess whether it finished. Check the host, then resume with --rerun STEP (run it again) or --skip STEP (it finished), STEP being \(blockedNames.joined(separator: ", ")) as written here. Nothing was changed.")
                throw ExitCode.couldNotStart
            }
            let startedAt = SystemClock().date
            var request = RunRequest(
                runId: RunID.make(startedAt: startedAt), runbook: runbook, environment: environment, params: prepared.params,
                secrets: prepared.secrets, processEnvironment: ProcessInfo.processInfo.environment, limit: prepared.limit,
                operatorName: Operator.name, pid: getpid(), approvals: Set(approve + inputs.approvals), kind: .resume,
                parentRunId: original.id, startedAt: startedAt)
            request.prior = prior
            request.journalAsRead = RunChain.statuses(family.runs)
            try lockOptions.apply(to: &request)
            request.documents = JournaledRunbook.documents(of: original)
            // The resumed gates compare with the same run the interrupted one would have: the newest
            // success before it (resume does not take --baseline; the interrupted run did not record one).
            request.baseline = await Baseline.resolve(reference: nil, runbook: original.runbook, environment: original.environment,
                                                      excluding: original.id, journal: journal)
            let code = try await RunLauncher.launch(request, journal: locked, output: output, includes: includes)
            try await documents.write(runId: request.runId, journal: locked)
            throw ExitCode(code)
        }
    }
}

extension MarshalCommand.Resume {
    /// Resume of a run that was rolling back when it stopped: the undos its journal (and any
    /// rollback of it) leaves pending, as `marshal rollback --run` would run them.
    func continueRollback(_ original: RunRecord, journal: any JournalStore) async throws {
        let inputs = ResumeInputs.decode(original.inputsJSON)
        let environment = try Inputs().environment(inputs.environmentPath ?? original.environment)
        let journal = StateLocation.withHostLock(ifEmbedded: journal, environment: environment)
        let pending = try await PendingRollback.load(original, environment: environment, journal: journal, rerun: rerun, skip: skip)
        if !pending.plan.questions.isEmpty {
            Terminal.stderr("error: not resuming run \(original.id), which was rolling back: \(pending.plan.questions.joined(separator: "; ")) when Marshal stopped. Marshal will not guess whether it finished. Check the host, then resume with --rerun STEP (undo it again) or --skip STEP (the undo finished; for a forward step: it changed nothing), STEP being \(pending.plan.questionNames.joined(separator: ", ")) as written here. Nothing was changed.")
            throw ExitCode.couldNotStart
        }
        let request = try pending.request(kind: .resume, parent: original, environment: environment, lockOptions: lockOptions)
        let code = try await RunLauncher.launchRollback(request, progress: pending.progress, plan: pending.plan, journal: journal,
                                                        output: output, includes: pending.includes)
        try await documents.write(runId: request.runId, journal: journal)
        throw ExitCode(code)
    }
}

/// The resolved inputs a run recorded (masked), read back for resume and rollback.
struct ResumeInputs {
    var environmentPath: String?
    var limit: [String]?
    var approvals: [String]

    static func decode(_ json: String) -> ResumeInputs {
        let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
        return ResumeInputs(environmentPath: object["environment"] as? String, limit: object["limit"] as? [String],
                            approvals: object["approvals"] as? [String] ?? [])
    }
}
