import Foundation

/// Runs a runbook against an environment: takes the lock, runs preflight, then each batch's
/// steps in order (a step on all of the batch's hosts in parallel, at most `forks` at once),
/// journals every step boundary durably, stops when failed hosts exceed `max_failures`, and
/// undoes completed steps in reverse when the runbook says `on_failure: rollback`.
public struct Orchestrator: Sendable {
    public var services: RunServices

    public init(services: RunServices) { self.services = services }

    /// A step that finished on a host, kept for undo and for `steps.<id>` evidence.
    struct Completed: Sendable {
        var expanded: ExpandedStep
        var host: HostSpec?
        var evidence: ConfigValue?
        var batch: Int
        /// Undo parts still to do; nil: all the step has (see `UndoPlan.parts(of:)`).
        var parts: [UndoKey.Part]? = nil
    }

    /// Mutable state of one run; only the orchestrating task touches it.
    final class State: @unchecked Sendable {
        var evidence: [String: ConfigValue] = [:]
        var hostEvidence: [String: [String: ConfigValue]] = [:]
        var completed: [Completed] = []
        var failedHosts: [String] = []
        var failureMessages: [String] = []
        /// Windows of gates measured over another step's span (`over: ID`), by `windowKey`.
        var windows: [String: WindowSample] = [:]
        var windowProblems: [String: String] = [:]

        /// Makes a step's evidence visible to later steps as `steps.<id>` and `steps.<register>`:
        /// per host for steps that run on each host, run-wide for the rest.
        func remember(_ evidence: ConfigValue?, of step: Step, host: HostSpec?) {
            guard let evidence else { return }
            for name in [step.id, step.register].compactMap({ $0 }) {
                if let host, Planner.scope(of: step) == .eachHost {
                    hostEvidence[host.name, default: [:]][name] = evidence
                } else {
                    self.evidence[name] = evidence
                }
            }
        }
    }

    public func run(_ request: RunRequest) async throws(RunStartError) -> RunResult {
        try await session(request) { executor, writer, state, masker in
            await self.execute(request, executor: executor, writer: writer, state: state, masker: masker)
        }
    }

    /// `marshal rollback`, and `resume` of a run that was rolling back: undo, newest first, what
    /// the journal says is still to undo (`plan`), with the evidence of every finished step in scope.
    public func rollback(_ request: RunRequest, progress: PriorProgress, plan: UndoPlan) async throws(RunStartError) -> RunResult {
        try await session(request) { executor, writer, state, masker in
            let environment = request.environment
            let baseScope = self.baseScope(request)
            let expanded: [ExpandedStep]
            do throws(StepFailure) {
                expanded = try ExpandedStep.expand(request.runbook.steps, runbook: request.runbook, resolver: self.services.includes,
                                                   renderer: self.services.renderer, scope: baseScope)
            } catch {
                return RunResult(runId: request.runId, status: .failed, summary: error.message, failedHosts: [], undone: [])
            }
            self.services.observer.handle(.runStarted(runId: request.runId, runbook: request.runbook.name, environment: environment.name,
                                                      hosts: Array(Set(plan.entries.compactMap(\.host))).sorted(), batches: []))
            for finished in progress.finished where finished.key.phase == .main {
                guard let step = expanded.first(where: { $0.ordinal == finished.key.ordinal }) else { continue }
                state.remember(finished.evidence, of: step.step, host: finished.key.host.flatMap { environment.host(named: $0) })
            }
            // The operator's --skip answers, journaled so that the next rollback does not ask again.
            let answers = plan.skipped.map { item in
                let step = item.expanded.step
                let kind = switch item.part {
                case .switchBack?: UndoKey.switchBackKind
                case .undoStep?: "undo:" + (step.undoStep?.kind.name ?? step.kind.name)
                case nil: step.kind.name
                }
                return StepRecord(runId: request.runId, stepIndex: item.expanded.ordinal, stepId: step.id,
                                  name: item.part == nil ? step.name : "undo \(step.name)", kind: kind,
                                  phase: item.part == nil ? .main : .undo, host: item.host, batch: item.batch, status: .skipped,
                                  startedAt: self.services.clock.date, endedAt: self.services.clock.date,
                                  message: item.part == nil ? "in flight when Marshal stopped; the operator said it changed nothing (--skip)"
                                      : "in flight when Marshal stopped; the operator said it finished (--skip)")
            }
            if !answers.isEmpty { _ = try? await writer.start(answers) }
            if !request.runbook.rollback.isEmpty {
                // A `rollback:` list runs across every host the run touched.
                for finished in progress.finished + progress.failed where finished.key.phase == .main {
                    guard let step = expanded.first(where: { $0.ordinal == finished.key.ordinal }),
                          let host = finished.key.host.flatMap({ environment.host(named: $0) }) else { continue }
                    state.completed.append(Completed(expanded: step, host: host, evidence: finished.evidence, batch: finished.key.batch ?? 0, parts: []))
                }
            }
            for entry in plan.entries.reversed() {
                let host = entry.host.flatMap { environment.host(named: $0) }
                if entry.host != nil && host == nil { continue }
                state.completed.append(Completed(expanded: entry.expanded, host: host, evidence: entry.evidence, batch: entry.batch,
                                                 parts: entry.parts))
            }
            let reason = request.kind == .rollback ? "rollback of run \(request.parentRunId ?? "?")"
                : "continued the rollback of run \(request.parentRunId ?? "?")"
            var result = await self.rollBack(request, reason: reason,
                                             RunSession(request: request, executor: executor, writer: writer, state: state, masker: masker,
                                                        baseScope: baseScope))
            // `marshal rollback` asked for the undo: having done it all is its success. A resumed
            // rollback of a failed run stays what that run is: rolled back.
            if request.kind == .rollback, result.status == .rolledBack { result.status = .succeeded }
            return result
        }
    }

    /// The planner's base scope with what the run knows of itself, and evidence (none yet) in place
    /// of references: from here on a `steps.` name that has no value is an error, not a reference.
    func baseScope(_ request: RunRequest) -> TemplateScope {
        var scope = Planner.baseScope(request.runbook, environment: request.environment, params: request.params, secrets: request.secrets,
                                      env: request.processEnvironment,
                                      run: RunScope.values(id: request.runId, runbook: request.runbook.name, environment: request.environment.name,
                                                           startedAt: ISO8601DateFormatter().string(from: request.startedAt),
                                                           operatorName: request.operatorName))
        scope.steps = [:]
        return scope
    }

    /// Lock, run record, heartbeat, connections; `body` does the work; then the record is closed
    /// and the lock released, whatever happened.
    private func session(_ request: RunRequest,
                         _ body: @Sendable (StepExecutor, JournalWriter, State, SecretMasker) async -> RunResult) async throws(RunStartError) -> RunResult {
        let journal = services.journal
        let lease = try await holdLock(request)
        let clock = services.clock
        let started = clock.now

        let masker = SecretMasker(Array(request.secrets.values))
        do throws(RunStartError) {
            try await checkNotOvertaken(request)
            do {
                try await journal.createRun(RunRecord(
                    id: request.runId, runbook: request.runbook.name, runbookPath: request.runbook.path,
                    environment: request.environment.name, params: request.params.mapValues { masker.mask($0.text) },
                    inputsJSON: inputsJSON(request, masker: masker), startedAt: request.startedAt,
                    operatorName: request.operatorName, pid: request.pid, kind: request.kind, parentRunId: request.parentRunId))
            } catch {
                throw .journal("cannot record the run in the journal (\(journal.location)): \(error)")
            }
        } catch {
            await lease.stop()
            _ = try? await journal.releaseLock(environment: request.environment.name, runId: request.runId)
            throw error
        }

        let connections = HostConnections(connector: services.connector, environment: request.environment, secrets: request.secrets,
                                          processEnvironment: request.processEnvironment)
        let executor = StepExecutor(connections: connections, gates: services.gates, redis: services.redis)
        let writer = JournalWriter(store: journal, clock: clock, lease: lease)
        let state = State()
        await notify(.start, summary: "\(request.runbook.name) started on \(request.environment.name)", request: request, masker: masker)
        var result = await body(executor, writer, state, masker)
        try? await writer.flush()
        if let failure = await writer.failure {
            // The journal is incomplete: leave the whole account where resume and rollback find it.
            var record = RunRecord(
                id: request.runId, runbook: request.runbook.name, runbookPath: request.runbook.path,
                environment: request.environment.name, params: request.params.mapValues { masker.mask($0.text) },
                inputsJSON: inputsJSON(request, masker: masker), startedAt: request.startedAt, endedAt: clock.date,
                operatorName: request.operatorName, pid: request.pid, kind: request.kind, parentRunId: request.parentRunId,
                failureSummary: masker.mask(result.summary))
            record.status = .interrupted
            let steps = await writer.records()
            if let path = services.recovery?.save(run: record, steps: steps) {
                result.summary += "; the journal could not be written (\(masker.mask(failure))): what this run did is in \(path), which `marshal resume \(request.runId)` and `marshal rollback --run \(request.runId)` read"
            } else {
                result.summary += "; the journal could not be written (\(masker.mask(failure))) and no recovery file could be written either: the output above is the only account of this run"
            }
        }
        switch result.status {
        // A good `marshal rollback` announces the rollback, not a success of a deployment.
        case .succeeded: await notify(request.kind == .rollback ? .rollback : .success, summary: result.summary, request: request, masker: masker)
        case .rolledBack:
            await notify(.failure, summary: result.summary, request: request, masker: masker)
            await notify(.rollback, summary: result.summary, request: request, masker: masker)
        case .failed, .aborted, .couldNotStart, .lockLost: await notify(.failure, summary: result.summary, request: request, masker: masker)
        case .paused: break
        }

        let status: RunRecord.Status
        switch result.status {
        case .succeeded: status = .succeeded
        case .failed: status = .failed
        case .rolledBack: status = .rolledBack
        case .paused: status = .paused
        case .aborted, .couldNotStart: status = .aborted
        case .lockLost: status = .interrupted
        }
        try? await journal.updateRun(id: request.runId, status: status, endedAt: clock.date, failureSummary: status == .succeeded ? (request.kind == .rollback ? result.summary : nil) : result.summary)
        await connections.closeAll()
        await lease.stop()
        _ = try? await journal.releaseLock(environment: request.environment.name, runId: request.runId)
        services.observer.handle(.runFinished(runId: request.runId, status: result.status.rawValue, summary: result.summary,
                                              duration: clock.elapsed(since: started)))
        return result
    }

    /// Webhooks of the runbook's `notify` steps that asked for this moment; they never fail the run.
    private func notify(_ event: NotifyStep.Event, summary: String, request: RunRequest, masker: SecretMasker) async {
        guard let gates = services.gates, request.kind != .rollback || event != .start else { return }
        let scope = baseScope(request)
        for step in request.runbook.steps {
            guard let notify = step.kind.as(NotifyStep.self), notify.events.contains(event) else { continue }
            let context = StepContext(runId: request.runId, renderer: services.renderer, scope: scope, masker: masker, approvals: [], batch: nil,
                                      clock: services.clock, files: services.files)
            let outcome = await gates.notify(notify, event: event, summary: masker.mask(summary), context: context)
            _ = try? await services.journal.recordMeasurement(MeasurementRecord(
                runId: request.runId, kind: MeasurementKind.notify.rawValue, name: "\(step.name) (\(event.rawValue))",
                outcome: outcome.status == .succeeded ? .passed : .error, expectation: nil, value: nil,
                payloadJSON: Evidence.json(NotifyEvidence(message: masker.mask(outcome.message ?? ""))), recordedAt: services.clock.date))
            services.observer.handle(.message("notify \(event.rawValue): \(outcome.message ?? outcome.status.rawValue)"))
        }
    }

    private func inputsJSON(_ request: RunRequest, masker: SecretMasker) -> String {
        let params = ConfigValue.map(request.params.keys.sorted().map {
            ConfigEntry(key: $0, value: .string(masker.mask(request.params[$0]!.text)), location: .synthetic("params"))
        })
        let secrets = ConfigValue.list(request.secrets.keys.sorted().map { .string($0) })
        return ConfigValue.record([
            "runbook": .string(request.runbook.path), "environment": .string(request.environment.path), "params": params,
            "secrets": secrets, "limit": request.limit.map { .list($0.map { .string($0) }) } ?? .null,
            "approvals": .list(request.approvals.sorted().map { .string($0) }),
            "documents": .list(request.documents.map { document in
                .record(["role": .string(document.role.rawValue), "path": .string(document.path), "sha256": .string(document.sha256),
                         "text": .string(masker.mask(document.text))])
            }),
        ]).jsonText
    }

    // MARK: - The run

    /// What every part of one run shares, so the steps of a run need one argument, not six.
    struct RunSession: Sendable {
        var request: RunRequest
        var executor: StepExecutor
        var writer: JournalWriter
        var state: State
        var masker: SecretMasker
        var baseScope: TemplateScope
    }

    /// Plans the run (the same planner as `marshal plan`, with the run's own id), then executes
    /// that plan and nothing else: its hosts, batches, preflight and once-only steps.
    private func execute(_ request: RunRequest, executor: StepExecutor, writer: JournalWriter, state: State,
                         masker: SecretMasker) async -> RunResult {
        let session = RunSession(request: request, executor: executor, writer: writer, state: state, masker: masker,
                                 baseScope: baseScope(request))
        let plan: Plan
        do throws(DiagnosticsError) {
            plan = try self.plan(request)
        } catch {
            return RunResult(runId: request.runId, status: .failed, summary: masker.mask(error.diagnostics.map(\.description).joined(separator: "; ")),
                             failedHosts: [], undone: [])
        }
        services.observer.handle(.runStarted(runId: request.runId, runbook: request.runbook.name, environment: request.environment.name,
                                             hosts: plan.targets, batches: plan.batches.map(\.hosts)))
        if let refused = await connect(plan, session) { return refused }
        if let failed = await runPreflight(plan, session) { return failed }
        for batch in plan.batches {
            if let stopped = await runBatch(batch, of: plan, session) { return stopped }
        }
        let failed = state.failedHosts
        let hosts = plan.targets.count, batches = plan.batches.count
        let summary = failed.isEmpty
            ? "\(request.runbook.name) finished on \(hosts) host\(hosts == 1 ? "" : "s") in \(batches) batch\(batches == 1 ? "" : "es")"
            : "\(request.runbook.name) finished with \(failed.count) failed host(s) within max_failures: " + Summary.list(state.failureMessages, separator: "; ")
        return RunResult(runId: request.runId, status: .succeeded, summary: summary, failedHosts: failed, undone: [])
    }

    /// The run's plan: the request's params, secrets and `--limit`, the run's id, start and operator.
    func plan(_ request: RunRequest) throws(DiagnosticsError) -> Plan {
        let run = baseScope(request).run
        return try Planner(renderer: services.renderer, env: request.processEnvironment)
            .plan(request.runbook, environment: request.environment, params: request.params, secrets: request.secrets,
                  limit: request.limit, run: run, includes: services.includes)
    }

    /// Connects to every host the plan touches before anything runs: a host key that does not
    /// verify stops the run here (exit 3); unreachable targets count as failed hosts.
    private func connect(_ plan: Plan, _ session: RunSession) async -> RunResult? {
        let request = session.request, state = session.state, masker = session.masker
        let involved = plan.involvedHosts.compactMap { request.environment.host(named: $0) }
        let executor = session.executor
        let reachability = await withTaskGroup(of: (HostSpec, TransportError?).self) { group in
            for host in involved {
                group.addTask {
                    switch await executor.connections.executor(for: host) {
                    case .success: (host, nil)
                    case .failure(let error): (host, error)
                    }
                }
            }
            var failures: [(HostSpec, TransportError)] = []
            for await (host, error) in group { if let error { failures.append((host, error)) } }
            return failures.sorted { $0.0.name < $1.0.name }
        }
        for (host, error) in reachability {
            services.observer.handle(.message("[\(host.name)] cannot start: \(masker.mask(error.description))"))
        }
        let refused = reachability.filter { !Self.isUnreachable($0.1) }
        if !refused.isEmpty {
            return RunResult(runId: request.runId, status: .couldNotStart,
                             summary: "refused before anything ran: " + refused.map { masker.mask($0.1.description) }.joined(separator: "; "),
                             failedHosts: refused.map(\.0.name), undone: [])
        }
        for (host, error) in reachability where plan.targets.contains(host.name) {
            state.failedHosts.append(host.name)
            state.failureMessages.append(masker.mask(error.description))
        }
        let unreachableOthers = reachability.filter { !plan.targets.contains($0.0.name) }
        if state.failedHosts.count > plan.toleratedFailures || !unreachableOthers.isEmpty {
            return RunResult(runId: request.runId, status: .couldNotStart,
                             summary: "could not start: " + reachability.map { masker.mask($0.1.description) }.joined(separator: "; ")
                                 + (unreachableOthers.isEmpty ? " (more unreachable hosts than max_failures \(request.runbook.strategy.maxFailures))" : ""),
                             failedHosts: reachability.map(\.0.name), undone: [])
        }
        return nil
    }

    /// Preflight: read-only checks on the hosts the plan gives; any failure stops before a change.
    private func runPreflight(_ plan: Plan, _ session: RunSession) async -> RunResult? {
        guard !plan.preflight.isEmpty else { return nil }
        let request = session.request
        services.observer.handle(.phaseStarted(name: "preflight"))
        for planned in plan.preflight {
            let outcomes = await runStep(planned.expanded, hosts: hosts(of: planned, request), phase: .preflight, batch: nil, session)
            if let journalError = outcomes.journalError { return abortForJournal(request, journalError, lockLost: outcomes.lockLost) }
            let failures = outcomes.results.filter { $0.outcome.status.isFailure || $0.outcome.status == .paused }
            if let first = failures.first {
                let summary = "preflight failed: \(planned.name) on \(first.host?.name ?? "this machine"): \(first.outcome.message ?? first.outcome.status.rawValue); nothing was changed"
                return RunResult(runId: request.runId, status: .failed, summary: summary,
                                 failedHosts: failures.compactMap { $0.host?.name }, undone: [])
            }
        }
        return nil
    }

    /// One batch of the plan: its steps in order, each on the plan's hosts that have not failed.
    private func runBatch(_ batch: Plan.Batch, of plan: Plan, _ session: RunSession) async -> RunResult? {
        let state = session.state
        services.observer.handle(.batchStarted(index: batch.index, of: plan.batches.count, hosts: batch.hosts))
        for planned in batch.steps {
            let scope = Planner.Scope(rawValue: planned.scope) ?? .eachHost
            let live = batch.hosts.filter { !state.failedHosts.contains($0) }
            if scope == .eachHost, live.isEmpty { break }
            let hosts = hosts(of: planned, session.request).filter { scope != .eachHost || $0.map { !state.failedHosts.contains($0.name) } ?? true }
            let spans = await startSpans(of: planned, in: batch, session)
            let outcomes = await runStep(planned.expanded, hosts: hosts, phase: .main, batch: batch.index, session,
                                         loadTargets: loadTargets(planned, batch: batch, of: plan, live: live, session))
            await endSpans(spans, session)
            if let stopped = await judge(outcomes, of: planned, batch: batch, live: live, tolerated: plan.toleratedFailures, session) {
                return stopped
            }
        }
        services.observer.handle(.batchFinished(index: batch.index, failedHosts: state.failedHosts.filter { batch.hosts.contains($0) }))
        return nil
    }

    /// What a step's results mean for the run: stop (journal lost, interrupted, paused, too many
    /// failed hosts, then roll back as the runbook says) or go on (nil).
    private func judge(_ outcomes: StepResults, of planned: Plan.PlannedStep, batch: Plan.Batch, live: [String], tolerated: Int,
                       _ session: RunSession) async -> RunResult? {
        let request = session.request, state = session.state, name = planned.name
        if let journalError = outcomes.journalError {
            // The lock went to someone else: stop, touch nothing more.
            if outcomes.lockLost { return abortForJournal(request, journalError, lockLost: true) }
            // Nothing further runs forward; what already changed is rolled back as the
            // runbook says, which needs no journal write to start.
            return await finishFailed(request, reason: "stopped before \(name): the journal could not record a step boundary (\(journalError))",
                                      status: .failed, session, rollback: true)
        }
        if Task.isCancelled {
            return await finishFailed(request, reason: "interrupted (Ctrl-C) during \(name)", status: .aborted, session, rollback: false)
        }
        if let paused = outcomes.results.first(where: { $0.outcome.status == .paused }) {
            return RunResult(runId: request.runId, status: .paused, summary: "paused at \(name): \(paused.outcome.message ?? "waiting for approval")",
                             failedHosts: state.failedHosts, undone: [])
        }
        for result in outcomes.results where result.outcome.status.isFailure {
            state.failureMessages.append("\(name) on \(result.host?.name ?? "batch \(batch.index)"): \(result.outcome.message ?? result.outcome.status.rawValue)")
            if let host = result.host, planned.scope != Planner.Scope.oncePerBatch.rawValue {
                if !state.failedHosts.contains(host.name) { state.failedHosts.append(host.name) }
            } else {
                // A gate that runs once for the batch (load test, metric) failing fails the whole batch.
                for host in live where !state.failedHosts.contains(host) { state.failedHosts.append(host) }
            }
        }
        guard state.failedHosts.count > tolerated else { return nil }
        let reason = "\(state.failedHosts.count) failed host\(state.failedHosts.count == 1 ? "" : "s") (\(Summary.list(state.failedHosts))) exceed max_failures \(request.runbook.strategy.maxFailures) in batch \(batch.index): "
            + Summary.list(state.failureMessages, separator: "; ")
        return await finishFailed(request, reason: reason, status: .failed, session, rollback: true)
    }

    /// For a load test with `targets: batch`: the batch's live hosts (canary) and as many hosts
    /// of later batches not yet updated and not failed (stable), each with its template scope.
    private func loadTargets(_ planned: Plan.PlannedStep, batch: Plan.Batch, of plan: Plan, live: [String],
                             _ session: RunSession) -> LoadTargets? {
        guard Planner.loadsBatchHosts(planned.expanded.step) else { return nil }
        let environment = session.request.environment
        let later = plan.batches.filter { $0.index > batch.index }.flatMap(\.hosts).filter { !session.state.failedHosts.contains($0) }
        func scopes(_ names: [String]) -> [TemplateScope] {
            names.compactMap { environment.host(named: $0) }.map {
                scope(for: $0, expanded: planned.expanded, base: session.baseScope, request: session.request, state: session.state)
            }
        }
        return LoadTargets(canary: scopes(live), stable: scopes(Array(later.prefix(live.count))))
    }

    /// The plan's hosts of a step (nil: once from this machine).
    private func hosts(of planned: Plan.PlannedStep, _ request: RunRequest) -> [HostSpec?] {
        planned.hostNames.map { name in name.flatMap { request.environment.host(named: $0) } }
    }

    static func isUnreachable(_ error: TransportError) -> Bool {
        switch error {
        case .unreachable, .connectTimeout, .disconnected: true
        default: false
        }
    }

    private func abortForJournal(_ request: RunRequest, _ error: String, lockLost: Bool) -> RunResult {
        if lockLost {
            return RunResult(runId: request.runId, status: .lockLost, summary: "stopped: \(error); nothing further was run", failedHosts: [], undone: [])
        }
        return RunResult(runId: request.runId, status: .failed, summary: "stopped: the journal could not record a step boundary (\(error)); nothing further was run", failedHosts: [], undone: [])
    }

    /// Where a `rollback:` list or `on_failure` runbook step runs: its `on:` hosts, once from here,
    /// or the given hosts (those the failed run touched).
    func hostsFor(_ step: Step, batchHosts: [HostSpec], environment: Environment) -> [HostSpec?] {
        switch Planner.scope(of: step) {
        case .eachHost: batchHosts
        case .oncePerBatch: [nil]
        case .once: step.on?.resolve(in: environment) ?? []
        }
    }

    // MARK: - One step on many hosts

    struct HostResult: Sendable {
        var host: HostSpec?
        var outcome: StepOutcome
    }

    struct StepResults: Sendable {
        var results: [HostResult]
        var journalError: String?
        /// The boundary was refused because the run's lock lease could not be proven.
        var lockLost = false
    }

    func scope(for host: HostSpec?, expanded: ExpandedStep, base: TemplateScope, request: RunRequest, state: State) -> TemplateScope {
        var scope = expanded.scope(from: base)
        scope.host = host
        scope.vars = TemplateScope.mergedVars(environment: request.environment, host: host)
        var steps = state.evidence
        if let host, let own = state.hostEvidence[host.name] { steps.merge(own) { _, mine in mine } }
        scope.steps = steps
        return scope
    }

    /// Runs one step on its hosts in parallel (at most `forks` at once), each start and end
    /// journaled, and keeps what finished for later steps and for undo.
    func runStep(_ expanded: ExpandedStep, hosts: [HostSpec?], phase: StepRecord.Phase, batch: Int?, _ session: RunSession,
                 loadTargets: LoadTargets? = nil) async -> StepResults {
        let hosts = phase == .undo ? hosts : skipDoneBefore(expanded, hosts: hosts, phase: phase, batch: batch, session)
        if hosts.isEmpty { return StepResults(results: [], journalError: nil) }
        let step = expanded.step
        let request = session.request
        let records = hosts.map { host in
            StepRecord(runId: request.runId, stepIndex: expanded.ordinal, stepId: step.id, name: step.name,
                       kind: (phase == .undo ? "undo:" : "") + step.kind.name, phase: phase, host: host?.name, batch: batch,
                       startedAt: services.clock.date)
        }
        let forks = max(1, request.runbook.strategy.forks)
        // The hosts that start now are journaled as started in one commit; a host queued behind
        // `forks` is journaled when it really starts (with the ends of those before it), so a
        // crash never leaves a host that had not begun looking in flight.
        let initial = min(forks, hosts.count)
        let sequences: [Int?]
        do {
            sequences = try await session.writer.start(Array(records.prefix(initial)))
        } catch let lost as LeaseKeeper.Lost {
            return StepResults(results: [], journalError: lost.reason, lockLost: true)
        } catch {
            // A forward step never runs unjournaled; an undo does: rolling back matters more
            // than its journal, and the run's recovery file keeps the account.
            guard phase == .undo else { return StepResults(results: [], journalError: "\(error)") }
            sequences = Array(repeating: nil, count: initial)
        }
        let results: [HostResult] = await withTaskGroup(of: (Int, HostResult).self) { group in
            var collected = [HostResult?](repeating: nil, count: hosts.count)
            var next = 0
            func launch(_ i: Int) {
                group.addTask {
                    let sequence: Int?
                    if i < initial {
                        sequence = sequences[i]
                    } else if let started = try? await session.writer.start([records[i]]).first {
                        sequence = started
                    } else if phase == .undo {
                        sequence = nil
                    } else {
                        return (i, HostResult(host: hosts[i], outcome: .failed("not run: the journal could not record its start")))
                    }
                    let outcome = await self.runOnHost(expanded, host: hosts[i], record: records[i], sequence: sequence,
                                                       phase: phase, batch: batch, session, loadTargets: loadTargets)
                    return (i, HostResult(host: hosts[i], outcome: outcome))
                }
            }
            while next < initial { launch(next); next += 1 }
            for await (i, result) in group {
                collected[i] = result
                if next < hosts.count { launch(next); next += 1 }
            }
            return collected.compactMap { $0 }
        }
        keep(results, of: expanded, phase: phase, batch: batch, session.state)
        return StepResults(results: results, journalError: nil)
    }

    /// Resume: a step × host the journal shows as finished is not run again; its evidence is
    /// restored so later steps and undo see it. Returns the hosts still to run.
    private func skipDoneBefore(_ expanded: ExpandedStep, hosts: [HostSpec?], phase: StepRecord.Phase, batch: Int?,
                                _ session: RunSession) -> [HostSpec?] {
        guard let prior = session.request.prior else { return hosts }
        let step = expanded.step, state = session.state
        return hosts.filter { host in
            let key = PriorProgress.Key(phase: phase, ordinal: expanded.ordinal, host: host?.name, batch: batch)
            guard prior.isDone(key) else { return true }
            let evidence = prior.evidence(for: key)
            state.remember(evidence, of: step, host: host)
            if phase == .main { state.completed.append(Completed(expanded: expanded, host: host, evidence: evidence, batch: batch ?? 0)) }
            services.observer.handle(.stepFinished(
                RunEvent.StepRef(index: expanded.ordinal, name: step.name, kind: step.kind.name, phase: phase.rawValue, host: host?.name, batch: batch),
                RunEvent.StepReport(status: "done-before", duration: 0, exitStatus: nil, attempts: 0, message: "finished in the interrupted run; not run again", output: nil)))
            return false
        }
    }

    /// One host's run of a step, after its start is journaled: crash points, progress, the
    /// executor, the step's measurements, and its end journaled with the commands it sent.
    private func runOnHost(_ expanded: ExpandedStep, host: HostSpec?, record: StepRecord, sequence: Int?, phase: StepRecord.Phase,
                           batch: Int?, _ session: RunSession, loadTargets: LoadTargets? = nil) async -> StepOutcome {
        let step = expanded.step, request = session.request, masker = session.masker, observer = services.observer
        let ref = RunEvent.StepRef(index: expanded.ordinal, name: step.name, kind: step.kind.name, phase: phase.rawValue, host: host?.name, batch: batch)
        observer.handle(.stepStarted(ref))
        let point = "\(phase.rawValue):%@:\(step.id ?? step.name)@\(host?.name ?? "-")"
        services.crashHook?(point.replacingOccurrences(of: "%@", with: "started"))
        let clock = services.clock, began = clock.now
        var context = StepContext(runId: request.runId, renderer: services.renderer,
                                  scope: scope(for: host, expanded: expanded, base: session.baseScope, request: request, state: session.state),
                                  masker: masker, approvals: request.approvals, batch: batch,
                                  clock: clock, files: services.files, baseline: request.baseline, loadTargets: loadTargets)
        context.progress = { observer.handle(.progress(ref, $0)) }
        if case .span? = step.over, phase != .undo {
            let key = Self.windowKey(expanded, host)
            context.window = session.state.windows[key]
            context.windowProblem = session.state.windowProblems[key]
        }
        let ticker = ProgressTicker.start(for: step, ref: ref, observer: observer, clock: clock)
        var outcome = await session.executor.execute(step, host: host, context: context)
        ticker?.cancel()
        let elapsed = clock.elapsed(since: began)
        services.crashHook?(point.replacingOccurrences(of: "%@", with: "finished"))
        // Evidence that cannot be kept fails its step: a gate must not pass without its record.
        outcome.measurements = GateLabels.apply(step, to: outcome.measurements)
        if let sequence, let unrecorded = await Self.record(outcome.measurements, runId: request.runId, sequence: sequence,
                                                          host: host?.name, journal: services.journal, masker: masker,
                                                          at: clock.date) {
            outcome.status = .failed
            outcome.message = [outcome.message, unrecorded].compactMap { $0 }.joined(separator: "; ")
        }
        let completion = StepCompletion(
            status: Self.recordStatus(outcome.status), endedAt: clock.date, exitStatus: outcome.exitStatus, signal: outcome.signal,
            stdout: OutputExcerpt.make(bytes: outcome.stdout), stderr: OutputExcerpt.make(bytes: outcome.stderr),
            registeredJSON: outcome.evidence.map { masker.mask($0.jsonText) }, attempts: outcome.attempts,
            message: outcome.message.map(masker.mask), command: outcome.command.map(masker.mask))
        if let sequence {
            await session.writer.finish(StepFinish(runId: request.runId, sequence: sequence, completion: completion))
        } else {
            _ = await session.writer.finishUnjournaled(record, completion)
        }
        observer.handle(.stepFinished(ref, RunEvent.StepReport(
            status: outcome.status.rawValue, duration: elapsed.seconds, exitStatus: outcome.exitStatus,
            attempts: outcome.attempts, message: outcome.message.map(masker.mask),
            output: outcome.status.isFailure ? RemoteCommand.lastLine(outcome.stderr) ?? RemoteCommand.lastLine(outcome.stdout) : nil)))
        return outcome
    }

    /// Keeps finished hosts' evidence for later steps, and what they changed for undo. A failed
    /// step that may have changed something before failing (a per-file migrate that committed
    /// files, or `undo_on_failure: true`) is undone too; only its undo step runs.
    private func keep(_ results: [HostResult], of expanded: ExpandedStep, phase: StepRecord.Phase, batch: Int?, _ state: State) {
        guard phase != .undo else { return }
        let step = expanded.step
        for result in results where result.outcome.status == .succeeded || result.outcome.status == .ignoredFailure {
            state.remember(result.outcome.evidence, of: step, host: result.host)
            if phase == .main, result.outcome.status == .succeeded {
                state.completed.append(Completed(expanded: expanded, host: result.host, evidence: result.outcome.evidence, batch: batch ?? 0))
            }
        }
        for result in results where phase == .main && result.outcome.status.isFailure && step.undoesFailure(evidence: result.outcome.evidence) {
            state.completed.append(Completed(expanded: expanded, host: result.host, evidence: result.outcome.evidence, batch: batch ?? 0,
                                             parts: [.undoStep]))
        }
    }

    static func recordStatus(_ status: StepOutcome.Status) -> StepRecord.Status {
        switch status {
        case .succeeded: .succeeded
        case .failed: .failed
        case .timedOut: .timedOut
        case .skipped: .skipped
        case .ignoredFailure: .ignoredFailure
        case .inconclusive: .inconclusive
        case .paused: .paused
        }
    }
}
