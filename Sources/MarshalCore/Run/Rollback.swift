import Foundation

extension Orchestrator {
    /// Stops the run; with `on_failure: rollback`, undoes every completed step that has an undo
    /// (or is a release), newest step first, on exactly the hosts where it completed. The hosts
    /// of one step are undone in parallel (at most `forks` at once), so one slow or hung host
    /// never holds the healthy ones.
    func finishFailed(_ request: RunRequest, reason: String, status: RunResult.Status, _ session: RunSession, rollback: Bool) async -> RunResult {
        var policyRunsSomething = request.runbook.onFailure == .rollback
        if case .run = request.runbook.onFailure { policyRunsSomething = true }
        guard rollback, policyRunsSomething || request.prior?.rollingBack == true else {
            return RunResult(runId: request.runId, status: status, summary: reason, failedHosts: session.state.failedHosts, undone: [])
        }
        return await rollBack(request, reason: reason, session)
    }

    /// Undoes what the run (or the run a `marshal rollback` names) changed, as its runbook says:
    /// `rolledBack` when everything was undone, `failed` when an undo failed.
    func rollBack(_ request: RunRequest, reason: String, _ session: RunSession) async -> RunResult {
        let executor = session.executor, writer = session.writer, state = session.state, masker = session.masker
        let baseScope = session.baseScope
        services.observer.handle(.phaseStarted(name: "rollback"))
        // The decision to roll back is journaled first: a resume of this run, if Marshal dies
        // from here on, continues the rollback instead of running forward steps again. A journal
        // that cannot take it does not stop the rollback.
        _ = try? await writer.start([StepRecord(runId: request.runId, stepIndex: 0, name: "rollback", kind: UndoKey.markerKind,
                                                phase: .undo, status: .succeeded, startedAt: services.clock.date, endedAt: services.clock.date,
                                                message: masker.mask(Summary.clip(reason, limit: 2000)))])
        services.crashHook?("rollback:begin")
        var scope = baseScope
        scope.failedRun = FailedRunScope.values(id: request.kind == .rollout ? request.runId : (request.parentRunId ?? request.runId),
                                                runbook: request.runbook.name, summary: masker.mask(reason))
        if case .run(let other, let params) = request.runbook.onFailure, request.kind != .rollback {
            return await runFailureRunbook(other, params: params, request: request, reason: reason, executor: executor, writer: writer,
                                           state: state, masker: masker, baseScope: scope)
        }
        if !request.runbook.rollback.isEmpty {
            return await runRollbackList(request, reason: reason, executor: executor, writer: writer, state: state, masker: masker,
                                         baseScope: scope)
        }
        var undone: [String] = []
        var undoneByStep: [String] = []
        var undoFailures: [String] = []
        // Consecutive records of one step (same position and batch) are undone together.
        var groups: [[Completed]] = []
        for completed in state.completed.reversed() {
            let parts = completed.parts ?? UndoPlan.parts(of: completed.expanded.step)
            guard !parts.isEmpty else { continue }
            var item = completed
            item.parts = parts
            if let last = groups.last?.last, last.expanded.ordinal == item.expanded.ordinal, last.batch == item.batch {
                groups[groups.count - 1].append(item)
            } else {
                groups.append([item])
            }
        }
        for group in groups {
            let original = group[0].expanded.step
            let undoneBefore = undone.count
            defer {
                let hosts = undone[undoneBefore...].map { String($0.dropFirst("\(original.name) on ".count)) }
                if !hosts.isEmpty { undoneByStep.append("\(original.name) on " + Summary.list(hosts)) }
            }
            var failedHosts = Set<String>()
            let switching = group.filter { $0.parts?.contains(.switchBack) == true }
            if !switching.isEmpty {
                let outcomes = await switchBack(switching, request: request, executor: executor, writer: writer, masker: masker, baseScope: baseScope)
                for (completed, outcome) in zip(switching, outcomes) {
                    let hostLabel = completed.host?.name ?? "this machine"
                    if outcome.status == .succeeded {
                        undone.append("\(original.name) on \(hostLabel)")
                    } else {
                        failedHosts.insert(hostLabel)
                        undoFailures.append("undo of \(original.name) on \(hostLabel): \(outcome.message ?? "failed")")
                    }
                }
            }
            // A release's own `undo` (say, a reload) runs against the release that is live again,
            // only where the switch back worked.
            let undoing = group.filter { $0.parts?.contains(.undoStep) == true && !failedHosts.contains($0.host?.name ?? "this machine") }
            guard let undoStep = original.undoStep, !undoing.isEmpty else { continue }
            let isRelease = original.kind.is(ReleaseStep.self)
            var expanded = group[0].expanded
            expanded.step = undoStep
            // Journaled under the step it undoes, so a later rollback or resume finds it.
            expanded.step.id = original.id
            expanded.step.name = "undo \(original.name)" + (isRelease ? " (after switching back)" : "")
            let results = await runStep(expanded, hosts: undoing.map(\.host), phase: .undo, batch: group[0].batch, session)
            for result in results.results {
                let hostLabel = result.host?.name ?? "this machine"
                if result.outcome.status == .succeeded || result.outcome.status == .skipped {
                    if !isRelease || !switching.contains(where: { $0.host?.name == result.host?.name }) {
                        undone.append("\(original.name) on \(hostLabel)")
                    }
                } else {
                    undoFailures.append("undo of \(original.name) on \(hostLabel): \(result.outcome.message ?? result.outcome.status.rawValue)")
                }
            }
        }
        var summary = reason + "; rolled back: " + (undone.isEmpty ? "nothing to undo" : undoneByStep.joined(separator: "; "))
        if !undoFailures.isEmpty {
            summary += "; UNDO FAILED: " + Summary.list(undoFailures, separator: "; ")
                + ". A failed undo stays pending: fix the host, then `marshal rollback -e \(request.environment.name) --run \(request.kind == .rollout ? request.runId : (request.parentRunId ?? request.runId))` retries it"
        }
        return RunResult(runId: request.runId, status: undoFailures.isEmpty ? .rolledBack : .failed, summary: summary,
                         failedHosts: state.failedHosts, undone: undone)
    }

    /// Releases' automatic undo on several hosts at once (at most `forks`), each journaled as its
    /// own `undo:release` record keyed by the release step's position; outcomes in input order.
    private func switchBack(_ items: [Completed], request: RunRequest, executor: StepExecutor, writer: JournalWriter,
                            masker: SecretMasker, baseScope: TemplateScope) async -> [StepOutcome] {
        let step = items[0].expanded.step
        let ordinal = items[0].expanded.ordinal
        let records = items.map {
            StepRecord(runId: request.runId, stepIndex: ordinal, stepId: step.id, name: "undo \(step.name)", kind: UndoKey.switchBackKind,
                       phase: .undo, host: $0.host?.name, batch: $0.batch, startedAt: services.clock.date)
        }
        let forks = max(1, request.runbook.strategy.forks)
        // As in runStep: hosts queued behind `forks` are journaled when they start.
        let initial = min(forks, items.count)
        // Rolling back matters more than its journal: without one, go on and say so.
        let sequences: [Int?] = (try? await writer.start(Array(records.prefix(initial))))?.map { Optional($0) }
            ?? Array(repeating: nil, count: initial)
        let observer = services.observer
        let crashHook = services.crashHook
        let renderer = services.renderer
        let clock = services.clock
        let files = services.files
        return await withTaskGroup(of: (Int, StepOutcome).self) { group in
            var collected = [StepOutcome?](repeating: nil, count: items.count)
            var next = 0
            func launch(_ i: Int) {
                let item = items[i]
                group.addTask {
                    let sequence: Int? = i < initial ? sequences[i] : (try? await writer.start([records[i]]))?.first
                    let ref = RunEvent.StepRef(index: ordinal, name: "undo \(step.name)", kind: "release", phase: "undo",
                                               host: item.host?.name, batch: item.batch)
                    observer.handle(.stepStarted(ref))
                    crashHook?("undo:started:\(step.id ?? step.name)@\(item.host?.name ?? "-")")
                    let context = StepContext(runId: request.runId, renderer: renderer, scope: baseScope, masker: masker,
                                              approvals: [], batch: item.batch, clock: clock, files: files)
                    let started = clock.now
                    var outcome: StepOutcome
                    if let host = item.host, let evidence = item.evidence {
                        outcome = await executor.undoRelease(evidence: evidence, host: host, context: context)
                    } else {
                        outcome = .failed("no evidence of which release was live before (the release was in flight when Marshal stopped); switch current back by hand")
                    }
                    crashHook?("undo:finished:\(step.id ?? step.name)@\(item.host?.name ?? "-")")
                    let completion = StepCompletion(
                        status: Self.recordStatus(outcome.status), endedAt: clock.date, exitStatus: outcome.exitStatus,
                        stdout: OutputExcerpt.make(bytes: outcome.stdout), stderr: OutputExcerpt.make(bytes: outcome.stderr),
                        message: outcome.message.map(masker.mask), command: outcome.command.map(masker.mask))
                    if let sequence {
                        await writer.finish(StepFinish(runId: request.runId, sequence: sequence, completion: completion))
                    } else {
                        _ = await writer.finishUnjournaled(records[i], completion)
                    }
                    observer.handle(.stepFinished(ref, RunEvent.StepReport(
                        status: outcome.status.rawValue, duration: clock.elapsed(since: started).seconds, exitStatus: outcome.exitStatus,
                        attempts: 1, message: outcome.message.map(masker.mask), output: nil)))
                    return (i, outcome)
                }
            }
            while next < min(forks, items.count) { launch(next); next += 1 }
            for await (i, outcome) in group {
                collected[i] = outcome
                if next < items.count { launch(next); next += 1 }
            }
            return collected.map { $0 ?? .failed("not run") }
        }
    }
}

extension Orchestrator {
    /// Journal positions of steps that are not the runbook's own: a `rollback:` list's step N is
    /// `rollbackOrdinalBase + N`, an `on_failure` runbook's step N is `failureRunbookOrdinalBase + N`.
    public static let rollbackOrdinalBase = 10_000
    static let failureRunbookOrdinalBase = 20_000

    /// The hosts a failed run touched (a step completed or failed there), in environment order.
    func touchedHosts(_ request: RunRequest, state: State) -> [HostSpec] {
        let names = Set(state.completed.compactMap { $0.host?.name } + state.failedHosts)
        return request.environment.hosts.filter { names.contains($0.name) }
    }

    /// A runbook-level `rollback:`: each step in order, across every touched host (or its `on:`),
    /// with the failed run's evidence in scope; stops at the first step that fails anywhere. A
    /// step × host the journal shows done (an earlier attempt) is not run again.
    func runRollbackList(_ request: RunRequest, reason: String, executor: StepExecutor, writer: JournalWriter, state: State,
                         masker: SecretMasker, baseScope: TemplateScope) async -> RunResult {
        let touched = touchedHosts(request, state: state)
        let steps: [ExpandedStep]
        do throws(StepFailure) {
            steps = try ExpandedStep.expandRollback(of: request.runbook, resolver: services.includes, renderer: services.renderer,
                                                    scope: baseScope)
        } catch {
            return RunResult(runId: request.runId, status: .failed, summary: reason + "; ROLLBACK FAILED: " + error.message,
                             failedHosts: state.failedHosts, undone: [])
        }
        return await runInOrder(steps, hosts: touched, what: "rollback", request: request, reason: reason, executor: executor,
                                writer: writer, state: state, masker: masker, baseScope: baseScope)
    }

    /// `on_failure: { run: RUNBOOK, params }`: that runbook's steps, in this run (same lock and
    /// environment), on its own targets, its params rendered with the failed run's evidence.
    func runFailureRunbook(_ name: TemplateString, params: [ConfigEntry], request: RunRequest, reason: String, executor: StepExecutor,
                           writer: JournalWriter, state: State, masker: SecretMasker, baseScope: TemplateScope) async -> RunResult {
        var scope = baseScope
        scope.steps = state.evidence
        let include: IncludeStep
        let other: Runbook
        let expanded: [ExpandedStep]
        do throws(StepFailure) {
            let rendered: String
            do {
                rendered = try services.renderer.render(name, in: scope).plainValue
            } catch {
                throw StepFailure(rendering: error, of: name)
            }
            include = IncludeStep(runbook: rendered, params: params, location: name.location)
            guard let resolver = services.includes else { throw StepFailure("on_failure cannot load runbooks here", at: name.location) }
            do {
                other = try resolver.runbook(for: include, from: request.runbook)
            } catch {
                throw StepFailure("cannot load on_failure runbook \(rendered): \(error)", at: name.location)
            }
            let step = Step(name: "on_failure: run \(rendered)", kind: .include(include), location: name.location)
            expanded = try ExpandedStep.expand([step], runbook: request.runbook, resolver: resolver, renderer: services.renderer, scope: scope)
        } catch {
            return RunResult(runId: request.runId, status: .failed, summary: reason + "; on_failure could not run: " + masker.mask(error.message),
                             failedHosts: state.failedHosts, undone: [])
        }
        let hosts = other.targets.resolve(in: request.environment)
        let steps = expanded.map { var e = $0; e.ordinal += Self.failureRunbookOrdinalBase; return e }
        return await runInOrder(steps, hosts: hosts, what: "on_failure runbook \(other.name)", request: request, reason: reason,
                                executor: executor, writer: writer, state: state, masker: masker, baseScope: scope)
    }

    /// Runs steps one after the other (each on its hosts in parallel), journaled in the undo
    /// phase; the first step that fails anywhere ends it.
    private func runInOrder(_ steps: [ExpandedStep], hosts: [HostSpec], what: String, request: RunRequest, reason: String,
                            executor: StepExecutor, writer: JournalWriter, state: State, masker: SecretMasker,
                            baseScope: TemplateScope) async -> RunResult {
        var done: [String] = []
        for expanded in steps {
            var targets = hostsFor(expanded.step, batchHosts: hosts, environment: request.environment)
            if let prior = request.prior {
                targets = targets.filter { host in
                    let key = UndoKey(ordinal: expanded.ordinal, host: host?.name, batch: 0, part: .undoStep)
                    return !(prior.undos[key] == .succeeded || prior.undos[key] == .skipped)
                }
            }
            guard !targets.isEmpty else { continue }
            var step = expanded
            step.step.name = "\(what): \(expanded.step.name)"
            let results = await runStep(step, hosts: targets, phase: .undo, batch: nil,
                                        RunSession(request: request, executor: executor, writer: writer, state: state, masker: masker,
                                                   baseScope: baseScope))
            let failures = results.results.filter { $0.outcome.status.isFailure }
            if !failures.isEmpty || results.journalError != nil {
                let detail = failures.map { "\(expanded.step.name) on \($0.host?.name ?? "this machine"): \($0.outcome.message ?? $0.outcome.status.rawValue)" }
                    + (results.journalError.map { ["the journal could not record \(expanded.step.name): \($0)"] } ?? [])
                let summary = reason + "; \(what): " + (done.isEmpty ? "nothing done" : "done: " + done.joined(separator: "; "))
                    + "; ROLLBACK FAILED at \(Summary.list(detail, separator: "; ")); the steps after it did not run. Fix the host, then `marshal rollback -e \(request.environment.name) --run \(request.kind == .rollout ? request.runId : (request.parentRunId ?? request.runId))` continues from there"
                return RunResult(runId: request.runId, status: .failed, summary: summary, failedHosts: state.failedHosts, undone: done)
            }
            let where_ = results.results.compactMap { $0.host?.name }
            done.append(expanded.step.name + (where_.isEmpty ? "" : " on " + Summary.list(where_)))
        }
        return RunResult(runId: request.runId, status: .rolledBack,
                         summary: reason + "; \(what): " + (done.isEmpty ? "nothing to do" : done.joined(separator: "; ")),
                         failedHosts: state.failedHosts, undone: done)
    }
}

/// Operator-facing lists that stay readable at 200 hosts: a few items, then a count.
enum Summary {
    static func list(_ items: [String], limit: Int = 3, separator: String = ", ") -> String {
        guard items.count > limit else { return items.joined(separator: separator) }
        let rest = "and \(items.count - limit) more (see `marshal show`)"
        return items.prefix(limit).joined(separator: separator) + (separator == ", " ? " " : separator) + rest
    }

    static func clip(_ text: String, limit: Int) -> String {
        text.count > limit ? String(text.prefix(limit)) + "…" : text
    }
}
