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
            for finished in progress.finished where finished.key.phase == StepRecord.Phase.main.rawValue {
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
                                  startedAt: Date(), endedAt: Date(),
                                  message: item.part == nil ? "in flight when Marshal stopped; the operator said it changed nothing (--skip)"
                                      : "in flight when Marshal stopped; the operator said it finished (--skip)")
            }
            if !answers.isEmpty { _ = try? await writer.start(answers) }
            if !request.runbook.rollback.isEmpty {
                // A `rollback:` list runs across every host the run touched.
                for finished in progress.finished + progress.failed where finished.key.phase == StepRecord.Phase.main.rawValue {
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
            return await self.finishFailed(request, reason: reason, status: .succeeded, executor: executor,
                                           writer: writer, state: state, masker: masker, baseScope: baseScope, rollback: true)
        }
    }

    func baseScope(_ request: RunRequest) -> TemplateScope {
        TemplateScope(
            params: request.params, vars: TemplateScope.mergedVars(environment: request.environment, host: nil), secrets: request.secrets,
            host: nil, env: request.processEnvironment, steps: [:],
            run: ["id": request.runId, "runbook": request.runbook.name, "environment": request.environment.name,
                  "started_at": ISO8601DateFormatter().string(from: request.startedAt), "operator": request.operatorName])
    }

    /// Lock, run record, heartbeat, connections; `body` does the work; then the record is closed
    /// and the lock released, whatever happened.
    private func session(_ request: RunRequest,
                         _ body: @Sendable (StepExecutor, JournalWriter, State, SecretMasker) async -> RunResult) async throws(RunStartError) -> RunResult {
        let journal = services.journal
        let lease = try await holdLock(request)
        let started = ContinuousClock.now

        let masker = SecretMasker(Array(request.secrets.values))
        do {
            try await journal.createRun(RunRecord(
                id: request.runId, runbook: request.runbook.name, runbookPath: request.runbook.path,
                environment: request.environment.name, params: request.params.mapValues { masker.mask($0.text) },
                inputsJSON: inputsJSON(request, masker: masker), startedAt: request.startedAt,
                operatorName: request.operatorName, pid: request.pid, kind: request.kind, parentRunId: request.parentRunId))
        } catch {
            await lease.stop()
            _ = try? await journal.releaseLock(environment: request.environment.name, runId: request.runId)
            throw .journal("cannot record the run in the journal (\(journal.location)): \(error)")
        }

        let connections = HostConnections(connector: services.connector, environment: request.environment, secrets: request.secrets)
        let executor = StepExecutor(connections: connections, gates: services.gates)
        let writer = JournalWriter(store: journal, lease: lease)
        let state = State()
        await notify(.start, summary: "\(request.runbook.name) started on \(request.environment.name)", request: request, masker: masker)
        var result = await body(executor, writer, state, masker)
        try? await writer.flush()
        if let failure = await writer.failure {
            // The journal is incomplete: leave the whole account where resume and rollback find it.
            var record = RunRecord(
                id: request.runId, runbook: request.runbook.name, runbookPath: request.runbook.path,
                environment: request.environment.name, params: request.params.mapValues { masker.mask($0.text) },
                inputsJSON: inputsJSON(request, masker: masker), startedAt: request.startedAt, endedAt: Date(),
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
        case .succeeded: await notify(.success, summary: result.summary, request: request, masker: masker)
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
        case .rolledBack: status = request.kind == .rollback ? .succeeded : .rolledBack
        case .paused: status = .paused
        case .aborted, .couldNotStart: status = .aborted
        case .lockLost: status = .interrupted
        }
        try? await journal.updateRun(id: request.runId, status: status, endedAt: Date(), failureSummary: status == .succeeded ? (request.kind == .rollback ? result.summary : nil) : result.summary)
        await connections.closeAll()
        await lease.stop()
        _ = try? await journal.releaseLock(environment: request.environment.name, runId: request.runId)
        services.observer.handle(.runFinished(runId: request.runId, status: result.status.rawValue, summary: result.summary,
                                              duration: ContinuousClock.now - started))
        return result
    }

    /// Webhooks of the runbook's `notify` steps that asked for this moment; they never fail the run.
    private func notify(_ event: NotifyStep.Event, summary: String, request: RunRequest, masker: SecretMasker) async {
        guard let gates = services.gates, request.kind != .rollback || event != .start else { return }
        let scope = baseScope(request)
        for step in request.runbook.steps {
            guard let notify = step.kind.as(NotifyStep.self), notify.events.contains(event) else { continue }
            let context = StepContext(runId: request.runId, renderer: services.renderer, scope: scope, masker: masker, approvals: [], batch: nil)
            let outcome = await gates.notify(notify, event: event, summary: masker.mask(summary), context: context)
            _ = try? await services.journal.recordMeasurement(MeasurementRecord(
                runId: request.runId, kind: "notify", name: "\(step.name) (\(event.rawValue))",
                outcome: outcome.status == .succeeded ? .passed : .error, expectation: nil, value: nil,
                payloadJSON: ConfigValue.record(["message": .string(masker.mask(outcome.message ?? ""))]).jsonText, recordedAt: Date()))
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

    private func execute(_ request: RunRequest, executor: StepExecutor, writer: JournalWriter, state: State,
                         masker: SecretMasker) async -> RunResult {
        let environment = request.environment
        let runbook = request.runbook
        var targets = runbook.targets.resolve(in: environment)
        if let limit = request.limit { targets = targets.filter { limit.contains($0.name) } }
        let batches = BatchPlanner.batches(targets, sizes: runbook.strategy.batches)
        let tolerated = runbook.strategy.maxFailures.tolerated(outOf: targets.count)
        services.observer.handle(.runStarted(runId: request.runId, runbook: runbook.name, environment: environment.name,
                                             hosts: targets.map(\.name), batches: batches.map { $0.map(\.name) }))

        let baseScope = self.baseScope(request)

        let steps: [ExpandedStep]
        let preflight: [ExpandedStep]
        do {
            steps = try ExpandedStep.expand(runbook.steps, runbook: runbook, resolver: services.includes, renderer: services.renderer, scope: baseScope)
            preflight = try ExpandedStep.expand(runbook.preflight, runbook: runbook, resolver: services.includes, renderer: services.renderer, scope: baseScope)
        } catch {
            return RunResult(runId: request.runId, status: .failed, summary: error.message, failedHosts: [], undone: [])
        }

        // Connect to every host the run will touch before anything runs: a host key that does not
        // verify stops the run here (exit 3); unreachable hosts count as failed hosts.
        let involved = Self.involvedHosts(targets: targets, steps: steps + preflight, environment: environment)
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
        for (host, error) in reachability where targets.contains(host) {
            state.failedHosts.append(host.name)
            state.failureMessages.append(masker.mask(error.description))
        }
        let unreachableOthers = reachability.filter { !targets.contains($0.0) }
        if state.failedHosts.count > tolerated || !unreachableOthers.isEmpty {
            return RunResult(runId: request.runId, status: .couldNotStart,
                             summary: "could not start: " + reachability.map { masker.mask($0.1.description) }.joined(separator: "; ")
                                 + (unreachableOthers.isEmpty ? " (more unreachable hosts than max_failures \(runbook.strategy.maxFailures))" : ""),
                             failedHosts: reachability.map(\.0.name), undone: [])
        }

        // Preflight: read-only checks on every target (or their `on:` hosts); any failure stops here.
        if !preflight.isEmpty {
            services.observer.handle(.phaseStarted(name: "preflight"))
            for expanded in preflight {
                let hosts = hostsFor(expanded.step, batchHosts: targets, environment: environment)
                let outcomes = await runStep(expanded, hosts: hosts, phase: .preflight, batch: nil, request: request,
                                             baseScope: baseScope, executor: executor, writer: writer, state: state, masker: masker)
                if let journalError = outcomes.journalError { return abortForJournal(request, journalError, lockLost: outcomes.lockLost) }
                let failures = outcomes.results.filter { $0.outcome.status.isFailure || $0.outcome.status == .paused }
                if let first = failures.first {
                    let summary = "preflight failed: \(expanded.step.name) on \(first.host?.name ?? "this machine"): \(first.outcome.message ?? first.outcome.status.rawValue); nothing was changed"
                    return RunResult(runId: request.runId, status: .failed, summary: summary,
                                     failedHosts: failures.compactMap { $0.host?.name }, undone: [])
                }
            }
        }

        for (b, batchHosts) in batches.enumerated() {
            services.observer.handle(.batchStarted(index: b + 1, of: batches.count, hosts: batchHosts.map(\.name)))
            for expanded in steps {
                let scope = Planner.scope(of: expanded.step)
                if scope == .once, b > 0, !expanded.step.everyBatch { continue }
                let live = batchHosts.filter { !state.failedHosts.contains($0.name) }
                if scope == .eachHost, live.isEmpty { break }
                let hosts = hostsFor(expanded.step, batchHosts: live, environment: environment)
                var loadTargets: LoadTargets?
                if let bench = expanded.step.kind.as(BenchmarkStep.self), bench.targets == .batch {
                    // Not yet updated: the hosts of later batches, as many as the batch loads.
                    let stable = batches.dropFirst(b + 1).flatMap { $0 }.filter { !state.failedHosts.contains($0.name) }.prefix(live.count)
                    loadTargets = LoadTargets(
                        canary: live.map { self.scope(for: $0, expanded: expanded, base: baseScope, request: request, state: state) },
                        stable: stable.map { self.scope(for: $0, expanded: expanded, base: baseScope, request: request, state: state) })
                }
                let outcomes = await runStep(expanded, hosts: hosts, phase: .main, batch: b + 1, request: request,
                                             baseScope: baseScope, executor: executor, writer: writer, state: state, masker: masker,
                                             loadTargets: loadTargets)
                if let journalError = outcomes.journalError {
                    // The lock went to someone else: stop, touch nothing more.
                    if outcomes.lockLost { return abortForJournal(request, journalError, lockLost: true) }
                    // Nothing further runs forward; what already changed is rolled back as the
                    // runbook says, which needs no journal write to start.
                    return await finishFailed(request, reason: "stopped before \(expanded.step.name): the journal could not record a step boundary (\(journalError))",
                                              status: .failed, executor: executor, writer: writer, state: state, masker: masker,
                                              baseScope: baseScope, rollback: true)
                }
                if Task.isCancelled {
                    return await finishFailed(request, reason: "interrupted (Ctrl-C) during \(expanded.step.name)", status: .aborted,
                                              executor: executor, writer: writer, state: state, masker: masker, baseScope: baseScope, rollback: false)
                }
                if let paused = outcomes.results.first(where: { $0.outcome.status == .paused }) {
                    return RunResult(runId: request.runId, status: .paused,
                                     summary: "paused at \(expanded.step.name): \(paused.outcome.message ?? "waiting for approval")",
                                     failedHosts: state.failedHosts, undone: [])
                }
                for result in outcomes.results where result.outcome.status.isFailure {
                    let where_ = result.host?.name ?? "batch \(b + 1)"
                    state.failureMessages.append("\(expanded.step.name) on \(where_): \(result.outcome.message ?? result.outcome.status.rawValue)")
                    if let host = result.host, scope == .eachHost || scope == .once {
                        if !state.failedHosts.contains(host.name) { state.failedHosts.append(host.name) }
                    } else {
                        // A gate that runs once for the batch (load test, metric) failing fails the whole batch.
                        for host in live where !state.failedHosts.contains(host.name) { state.failedHosts.append(host.name) }
                    }
                }
                if state.failedHosts.count > tolerated {
                    let reason = "\(state.failedHosts.count) failed host\(state.failedHosts.count == 1 ? "" : "s") (\(Summary.list(state.failedHosts))) exceed max_failures \(runbook.strategy.maxFailures) in batch \(b + 1): "
                        + Summary.list(state.failureMessages, separator: "; ")
                    return await finishFailed(request, reason: reason, status: .failed, executor: executor, writer: writer,
                                              state: state, masker: masker, baseScope: baseScope, rollback: true)
                }
            }
            services.observer.handle(.batchFinished(index: b + 1, failedHosts: state.failedHosts.filter { name in batchHosts.contains { $0.name == name } }))
        }
        let summary = state.failedHosts.isEmpty
            ? "\(runbook.name) finished on \(targets.count) host\(targets.count == 1 ? "" : "s") in \(batches.count) batch\(batches.count == 1 ? "" : "es")"
            : "\(runbook.name) finished with \(state.failedHosts.count) failed host(s) within max_failures: " + Summary.list(state.failureMessages, separator: "; ")
        return RunResult(runId: request.runId, status: .succeeded, summary: summary, failedHosts: state.failedHosts, undone: [])
    }

    static func involvedHosts(targets: [HostSpec], steps: [ExpandedStep], environment: Environment) -> [HostSpec] {
        var hosts = targets
        for expanded in steps {
            let step = expanded.step
            guard !step.kind.runsFromController || step.on != nil else { continue }
            for host in step.on?.resolve(in: environment) ?? [] where !hosts.contains(host) { hosts.append(host) }
        }
        return hosts
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
        var scope = base
        scope.host = host
        scope.vars = TemplateScope.mergedVars(environment: request.environment, host: host)
        if let params = expanded.params { scope.params = params }
        var steps = state.evidence
        if let host, let own = state.hostEvidence[host.name] { steps.merge(own) { _, mine in mine } }
        scope.steps = steps
        return scope
    }

    func runStep(_ expanded: ExpandedStep, hosts: [HostSpec?], phase: StepRecord.Phase, batch: Int?, request: RunRequest,
                 baseScope: TemplateScope, executor: StepExecutor, writer: JournalWriter, state: State,
                 masker: SecretMasker, undoOf: Step? = nil, loadTargets: LoadTargets? = nil) async -> StepResults {
        let step = expanded.step
        let now = Date()
        var pendingHosts = hosts
        if let prior = request.prior, phase != .undo {
            // Resume: a step × host the journal shows as finished is not run again; its evidence
            // is restored so later steps and undo see it.
            var remaining: [HostSpec?] = []
            for host in pendingHosts {
                let key = PriorProgress.Key(phase: phase.rawValue, ordinal: expanded.ordinal, host: host?.name, batch: batch)
                if prior.isDone(key) {
                    let evidence = prior.evidence(for: key)
                    state.remember(evidence, of: step, host: host)
                    if phase == .main { state.completed.append(Completed(expanded: expanded, host: host, evidence: evidence, batch: batch ?? 0)) }
                    services.observer.handle(.stepFinished(
                        RunEvent.StepRef(index: expanded.ordinal, name: step.name, kind: step.kind.name, phase: phase.rawValue, host: host?.name, batch: batch),
                        RunEvent.StepReport(status: "done-before", duration: 0, exitStatus: nil, attempts: 0, message: "finished in the interrupted run; not run again", output: nil)))
                } else {
                    remaining.append(host)
                }
            }
            pendingHosts = remaining
            if pendingHosts.isEmpty { return StepResults(results: [], journalError: nil) }
        }
        let hosts = pendingHosts
        let records = hosts.map { host in
            StepRecord(runId: request.runId, stepIndex: expanded.ordinal, stepId: step.id, name: step.name,
                       kind: (phase == .undo ? "undo:" : "") + step.kind.name, phase: phase, host: host?.name, batch: batch,
                       startedAt: now)
        }
        let forks = max(1, request.runbook.strategy.forks)
        // The hosts that start now are journaled as started in one commit; a host queued behind
        // `forks` is journaled when it really starts (with the ends of those before it), so a
        // crash never leaves a host that had not begun looking in flight.
        let initial = min(forks, hosts.count)
        let sequences: [Int?]
        do {
            sequences = try await writer.start(Array(records.prefix(initial)))
        } catch let lost as LeaseKeeper.Lost {
            return StepResults(results: [], journalError: lost.reason, lockLost: true)
        } catch {
            // A forward step never runs unjournaled; an undo does: rolling back matters more
            // than its journal, and the run's recovery file keeps the account.
            guard phase == .undo else { return StepResults(results: [], journalError: "\(error)") }
            sequences = Array(repeating: nil, count: initial)
        }
        let contexts = hosts.map { host in
            StepContext(runId: request.runId, renderer: services.renderer,
                        scope: scope(for: host, expanded: expanded, base: baseScope, request: request, state: state),
                        masker: masker, approvals: request.approvals, batch: batch, baseline: request.baseline, loadTargets: loadTargets)
        }
        let observer = services.observer
        let crashHook = services.crashHook
        let refs = hosts.map { RunEvent.StepRef(index: expanded.ordinal, name: step.name, kind: step.kind.name, phase: phase.rawValue, host: $0?.name, batch: batch) }

        let results: [HostResult] = await withTaskGroup(of: (Int, HostResult).self) { group in
            var collected = [HostResult?](repeating: nil, count: hosts.count)
            var next = 0
            func launch(_ i: Int) {
                group.addTask {
                    let sequence: Int?
                    if i < initial {
                        sequence = sequences[i]
                    } else if let started = try? await writer.start([records[i]]).first {
                        sequence = started
                    } else if phase == .undo {
                        sequence = nil
                    } else {
                        return (i, HostResult(host: hosts[i], outcome: .failed("not run: the journal could not record its start")))
                    }
                    observer.handle(.stepStarted(refs[i]))
                    let point = "\(phase.rawValue):%@:\(step.id ?? step.name)@\(hosts[i]?.name ?? "-")"
                    crashHook?(point.replacingOccurrences(of: "%@", with: "started"))
                    let clock = ContinuousClock.now
                    var context = contexts[i]
                    context.progress = { observer.handle(.progress(refs[i], $0)) }
                    let ticker = ProgressTicker.start(for: step, ref: refs[i], observer: observer)
                    var outcome = await executor.execute(step, host: hosts[i], context: context)
                    ticker?.cancel()
                    let elapsed = ContinuousClock.now - clock
                    crashHook?(point.replacingOccurrences(of: "%@", with: "finished"))
                    // Evidence that cannot be kept fails its step: a gate must not pass without its record.
                    outcome.measurements = GateLabels.apply(step, to: outcome.measurements)
                    if let sequence, let unrecorded = await Self.record(outcome.measurements, runId: request.runId, sequence: sequence,
                                                                      host: hosts[i]?.name, journal: services.journal, masker: masker) {
                        outcome.status = .failed
                        outcome.message = [outcome.message, unrecorded].compactMap { $0 }.joined(separator: "; ")
                    }
                    let completion = StepCompletion(
                        status: Self.recordStatus(outcome.status), endedAt: Date(), exitStatus: outcome.exitStatus, signal: outcome.signal,
                        stdout: OutputExcerpt.make(bytes: outcome.stdout), stderr: OutputExcerpt.make(bytes: outcome.stderr),
                        registeredJSON: outcome.evidence.map { masker.mask($0.jsonText) }, attempts: outcome.attempts,
                        message: outcome.message.map(masker.mask))
                    if let sequence {
                        await writer.finish(StepFinish(runId: request.runId, sequence: sequence, completion: completion))
                    } else {
                        _ = await writer.finishUnjournaled(records[i], completion)
                    }
                    observer.handle(.stepFinished(refs[i], RunEvent.StepReport(
                        status: outcome.status.rawValue, duration: elapsed.seconds, exitStatus: outcome.exitStatus,
                        attempts: outcome.attempts, message: outcome.message.map(masker.mask),
                        output: outcome.status.isFailure ? RemoteCommand.lastLine(outcome.stderr) ?? RemoteCommand.lastLine(outcome.stdout) : nil)))
                    return (i, HostResult(host: hosts[i], outcome: outcome))
                }
            }
            while next < min(forks, hosts.count) { launch(next); next += 1 }
            for await (i, result) in group {
                collected[i] = result
                if next < hosts.count { launch(next); next += 1 }
            }
            return collected.compactMap { $0 }
        }

        for result in results where phase != .undo && (result.outcome.status == .succeeded || result.outcome.status == .ignoredFailure) {
            state.remember(result.outcome.evidence, of: step, host: result.host)
            if phase == .main, result.outcome.status == .succeeded {
                state.completed.append(Completed(expanded: expanded, host: result.host, evidence: result.outcome.evidence, batch: batch ?? 0))
            }
        }
        // A failed step that may have changed something before failing (a per-file migrate that
        // committed files, or `undo_on_failure: true`) is undone too; only its undo step runs.
        for result in results where phase == .main && result.outcome.status.isFailure && step.undoesFailure(evidence: result.outcome.evidence) {
            state.completed.append(Completed(expanded: expanded, host: result.host, evidence: result.outcome.evidence, batch: batch ?? 0,
                                             parts: [.undoStep]))
        }
        return StepResults(results: results, journalError: nil)
    }

    static func recordStatus(_ status: StepOutcome.Status) -> StepRecord.Status {
        switch status {
        case .succeeded: .succeeded
        case .failed: .failed
        case .timedOut: .timedOut
        case .skipped: .skipped
        case .ignoredFailure: .ignoredFailure
        case .inconclusive: .inconclusive
        case .paused: .started
        }
    }
}
