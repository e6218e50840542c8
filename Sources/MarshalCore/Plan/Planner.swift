/// Resolves a runbook against an environment: targets, batches, and each step's rendered action
/// per host. Used by `marshal plan` and as the skeleton of a run.
public struct Planner: Sendable {
    public var renderer: any TemplateRendering
    public var env: [String: String]

    public init(renderer: any TemplateRendering, env: [String: String] = [:]) {
        self.renderer = renderer
        self.env = env
    }

    /// Where a step runs.
    public enum Scope: String, Sendable {
        /// On every host of each batch (over SSH, or from here with that host's context).
        case eachHost = "each-host"
        /// Once per batch, from this machine (waits, approvals, load tests, metric gates).
        case oncePerBatch = "once-per-batch"
        /// Once, during the first batch, on the hosts its `on:` names.
        case once
    }

    /// A load test with `targets: batch` renders its URL for each host of the batch.
    static func loadsBatchHosts(_ step: Step) -> Bool {
        step.kind.as(BenchmarkStep.self)?.targets == .batch
    }

    public static func scope(of step: Step) -> Scope {
        if step.on != nil { return .once }
        return step.kind.plugin.runsForEachHost ? .eachHost : .oncePerBatch
    }

    /// What a run's templates see before any host or step: its params, the environment's vars,
    /// secrets, this process's environment and `run` (what the run knows of itself; while planning
    /// ahead its id stays a reference). Include params render in it, in a run and wherever its
    /// steps are expanded again (resume, rollback).
    public static func baseScope(_ runbook: Runbook, environment: Environment, params: [String: ConfigValue],
                                 secrets: [String: Secret], env: [String: String], run: [String: String] = [:]) -> TemplateScope {
        var runValues = ["runbook": runbook.name, "environment": environment.name]
        runValues.merge(run) { _, given in given }
        return TemplateScope(params: params, vars: TemplateScope.mergedVars(environment: environment, host: nil),
                             secrets: secrets, host: nil, env: env, steps: nil, run: runValues)
    }

    /// The plan of a run. `run` gives what the run knows of itself (`id`, `started_at`, `operator`);
    /// while planning ahead they stay references (`{{ run.id }}`). `includes` expands `include`
    /// steps as the run does (without it they are planned as one step each).
    public func plan(_ runbook: Runbook, environment: Environment, params: [String: ConfigValue],
                     secrets: [String: Secret], limit: [String]? = nil, run: [String: String] = [:],
                     includes: (any IncludeResolver)? = nil) throws(DiagnosticsError) -> Plan {
        var bag = DiagnosticBag()
        var targets = runbook.targets.resolve(in: environment)
        if let limit {
            for name in limit where environment.host(named: name) == nil {
                bag.error("--limit names '\(name)', which is not a host of environment '\(environment.name)'\(Suggestion.hint(for: name, in: environment.hosts.map(\.name)))", at: .synthetic("command line"))
            }
            targets = targets.filter { limit.contains($0.name) }
        }
        if targets.isEmpty {
            bag.error("no hosts to run on: targets '\(runbook.targets)'\(limit == nil ? "" : " limited to \(limit!.joined(separator: ","))") select none of environment '\(environment.name)'", at: runbook.targets.location)
        }
        if bag.hasErrors { throw DiagnosticsError(bag.items) }

        let baseScope = Self.baseScope(runbook, environment: environment, params: params, secrets: secrets, env: env, run: run)
        // One for the whole plan: it is built from every form of every secret.
        let masker = SecretMasker(Array(secrets.values))
        // Templated durations and expectations take their values now, so a bad one is an input
        // error before anything runs (`validate -e`, `plan` and `run` all come through here).
        var runbook = runbook
        func resolved(_ steps: [Step]) -> [Step] {
            steps.map { step in
                guard step.hasTemplated else { return step }
                do throws(TemplatedFieldError) { return try step.resolvingTemplated(renderer: renderer, scope: baseScope) } catch {
                    bag.error(error.message, at: error.location)
                    return step
                }
            }
        }
        runbook.steps = resolved(runbook.steps)
        runbook.preflight = resolved(runbook.preflight)
        if bag.hasErrors { throw DiagnosticsError(bag.items) }

        func scope(for host: HostSpec?, _ expanded: ExpandedStep, base: TemplateScope) -> TemplateScope {
            var s = expanded.scope(from: base)
            s.host = host
            s.vars = TemplateScope.mergedVars(environment: environment, host: host)
            return s
        }

        func plannedStep(_ expanded: ExpandedStep, batchHosts: [HostSpec], base: TemplateScope) -> Plan.PlannedStep {
            let step = expanded.step
            let stepScope = Self.scope(of: step)
            let hosts: [HostSpec?]
            switch stepScope {
            case .eachHost: hosts = batchHosts
            case .oncePerBatch: hosts = [nil]
            case .once: hosts = step.on.map { $0.resolve(in: environment) } ?? []
            }
            let actions = hosts.map { host -> Plan.Action in
                var description = PlanDescription(renderer: renderer, scope: scope(for: host, expanded, base: base), bag: bag)
                let detail: String
                if !Self.loadsBatchHosts(step) {
                    detail = description.describe(step)
                } else {
                    // One load test per host of the batch, each with that host's URL.
                    detail = batchHosts.map { batchHost in
                        var own = PlanDescription(renderer: renderer, scope: scope(for: batchHost, expanded, base: base), bag: description.bag)
                        let text = "\(batchHost.name): " + own.describe(step)
                        description.bag = own.bag
                        return text
                    }.joined(separator: "; ")
                }
                let command = step.kind.plugin.commands(step, in: &description)?.joined(separator: "\n")
                let undo = step.undoStep.map { description.describe($0) }
                let undoCommand = step.undoStep.flatMap { $0.kind.plugin.commands($0, in: &description)?.joined(separator: "\n") }
                bag = description.bag
                // A secret that reached a step as a plain value (a param an include or on_failure
                // passed it) is masked as the journal masks it: by value.
                let mask: (String) -> String = masker.mask
                return Plan.Action(host: host?.name, detail: mask(detail), remote: !step.kind.runsFromController, command: command.map(mask),
                                   undo: undo.map(mask), undoCommand: undoCommand.map(mask))
            }
            return Plan.PlannedStep(index: expanded.ordinal, label: expanded.label, id: step.id, name: step.name, kind: step.kind.name,
                                    scope: stepScope.rawValue, when: step.when?.source, actions: actions, expanded: expanded)
        }

        func expand(_ steps: [Step], in scope: TemplateScope? = nil) -> [ExpandedStep] {
            guard includes != nil else {
                return steps.enumerated().map { ExpandedStep(step: $1, label: "\($0 + 1)", ordinal: $0 + 1, params: nil) }
            }
            do throws(StepFailure) {
                return try ExpandedStep.expand(steps, runbook: runbook, resolver: includes, renderer: renderer, scope: scope ?? baseScope)
            } catch {
                bag.error(error.detail, at: error.location ?? .synthetic("include"))
                return []
            }
        }

        // Preflight without `on:` checks every target host once, before any batch.
        let preflight = expand(runbook.preflight).map { plannedStep($0, batchHosts: targets, base: baseScope) }
        let steps = expand(runbook.steps)
        let batches = BatchPlanner.batches(targets, sizes: runbook.strategy.batches)
        var plannedBatches: [Plan.Batch] = []
        for (b, hosts) in batches.enumerated() {
            // A step with `on:` runs once, during the first batch (every batch with `every_batch`).
            let planned = steps.filter { b == 0 || Self.scope(of: $0.step) != .once || $0.step.everyBatch }.map { plannedStep($0, batchHosts: hosts, base: baseScope) }
            plannedBatches.append(Plan.Batch(index: b + 1, hosts: hosts.map(\.name), steps: planned))
        }
        if bag.hasErrors { throw DiagnosticsError(bag.items) }
        // After a failure of this run, `failed_run` is this run; its summary only the failure knows.
        var failureScope = baseScope
        failureScope.failedRun["runbook"] = runbook.name
        failureScope.failedRun["id"] = baseScope.run["id"]
        // The rollback list as the run expands it after a failure: what would stop that expansion (an
        // include cycle, params the included runbook refuses, a step that would pause) refuses the
        // run now, before anything changes, not after the failure it was written for.
        let rollbackSteps = expand(runbook.rollback, in: failureScope)
        if let refusal = Self.pauseRefusal(in: rollbackSteps, place: Step.rollbackListPlace) {
            bag.error(refusal.detail, at: refusal.location ?? runbook.location)
        }
        let rollback = rollbackSteps.map { plannedStep($0.inRollbackList, batchHosts: targets, base: failureScope) }
        let (onFailureRun, onFailureProblem) = plannedFailureRunbook(runbook, environment: environment, scope: failureScope,
                                                                     includes: includes) {
            plannedStep($0, batchHosts: $1, base: failureScope)
        }
        if let problem = onFailureProblem { bag.error(problem.detail, at: problem.location ?? runbook.location) }
        if bag.hasErrors { throw DiagnosticsError(bag.items) }

        var involved = targets.map(\.name)
        for expanded in steps + preflight.map(\.expanded) {
            let step = expanded.step
            guard !step.kind.runsFromController || step.on != nil else { continue }
            for host in step.on?.resolve(in: environment) ?? [] where !involved.contains(host.name) { involved.append(host.name) }
        }

        let onFailure: String
        switch runbook.onFailure {
        case .stop: onFailure = "stop"
        case .rollback: onFailure = runbook.rollback.isEmpty ? "rollback (undo completed steps in reverse)"
            : "rollback (the runbook's rollback: list of \(runbook.rollback.count) steps, in order)"
        case .run(let other, _): onFailure = "run \(other.source)"
        }
        return Plan(
            runbook: runbook.name, runbookPath: runbook.path, environment: environment.name, protected: environment.protected,
            params: params.mapValues(\.text), targets: targets.map(\.name),
            maxFailures: runbook.strategy.maxFailures.description,
            toleratedFailures: runbook.strategy.maxFailures.tolerated(outOf: targets.count), onFailure: onFailure,
            preflight: preflight, batches: plannedBatches, rollback: rollback, onFailureRun: onFailureRun,
            involvedHosts: involved
        )
    }

    /// The `on_failure: { run: }` runbook's steps, expanded as `Orchestrator.runFailureRunbook`
    /// expands them, on its own targets, and what would stop them, as for the rollback list (also:
    /// the runbook does not load). A name known only from the failure is not planned.
    private func plannedFailureRunbook(_ runbook: Runbook, environment: Environment, scope: TemplateScope,
                                       includes: (any IncludeResolver)?,
                                       plannedStep: (ExpandedStep, [HostSpec]) -> Plan.PlannedStep) -> (steps: [Plan.PlannedStep], problem: StepFailure?) {
        guard case .run(let name, let params) = runbook.onFailure, let resolver = includes,
              let rendered = try? renderer.render(name, in: scope).plainValue, !rendered.contains("{{") else { return ([], nil) }
        let include = IncludeStep(runbook: rendered, params: params, location: name.location)
        let step = Step(name: "on_failure: run \(rendered)", kind: .include(include), location: name.location)
        let other: Runbook, expanded: [ExpandedStep]
        do {
            other = try resolver.runbook(for: include, from: runbook)
        } catch {
            return ([], StepFailure("on_failure runbook \(rendered) cannot be loaded: \(error)", at: name.location))
        }
        do throws(StepFailure) {
            expanded = try ExpandedStep.expand([step], runbook: runbook, resolver: resolver, renderer: renderer, scope: scope)
        } catch {
            return ([], error)
        }
        if let refusal = Self.pauseRefusal(in: expanded, place: Step.failureRunbookPlace) { return ([], refusal) }
        let hosts = other.targets.resolve(in: environment)
        let planned = expanded.map {
            var planned = $0
            planned.ordinal += Orchestrator.failureRunbookOrdinalBase
            return plannedStep(planned, hosts)
        }
        return (planned, nil)
    }

    /// The first step (or undo) of what a rollback runs that would pause for approval.
    private static func pauseRefusal(in expanded: [ExpandedStep], place: String) -> StepFailure? {
        for step in expanded.flatMap(\.step.withUndo) {
            if let refusal = step.pauseRefusal(in: place) { return StepFailure(refusal, at: step.location) }
        }
        return nil
    }
}
