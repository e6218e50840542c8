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

    public func plan(_ runbook: Runbook, environment: Environment, params: [String: ConfigValue],
                     secrets: [String: Secret], limit: [String]? = nil) throws(DiagnosticsError) -> Plan {
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

        let baseScope = TemplateScope(params: params, vars: TemplateScope.mergedVars(environment: environment, host: nil),
                                      secrets: secrets, host: nil, env: env, steps: nil,
                                      run: ["id": "(at run time)", "runbook": runbook.name, "environment": environment.name,
                                            "started_at": "(at run time)", "operator": "(at run time)"])
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

        func scope(for host: HostSpec?) -> TemplateScope {
            var s = baseScope
            s.host = host
            s.vars = TemplateScope.mergedVars(environment: environment, host: host)
            return s
        }

        func plannedStep(_ step: Step, index: Int, batchHosts: [HostSpec]) -> Plan.PlannedStep {
            let stepScope = Self.scope(of: step)
            let hosts: [HostSpec?]
            switch stepScope {
            case .eachHost: hosts = batchHosts
            case .oncePerBatch: hosts = Self.loadsBatchHosts(step) ? batchHosts : [nil]
            case .once: hosts = step.on.map { $0.resolve(in: environment) } ?? []
            }
            let actions = hosts.map { host -> Plan.Action in
                let s = scope(for: host)
                let detail = describe(step, in: s, bag: &bag)
                let undo = step.undoStep.map { describe($0, in: s, bag: &bag) }
                let remote = !(step.kind.runsFromController)
                return Plan.Action(host: host?.name, detail: detail, remote: remote, undo: undo)
            }
            return Plan.PlannedStep(index: index, id: step.id, name: step.name, kind: step.kind.name, scope: stepScope.rawValue,
                                    when: step.when?.source, actions: actions)
        }

        let preflight = runbook.preflight.enumerated().map { i, step in
            // Preflight without `on:` checks every target host once, before any batch.
            plannedStep(step, index: i + 1, batchHosts: targets)
        }
        let batches = BatchPlanner.batches(targets, sizes: runbook.strategy.batches)
        var plannedBatches: [Plan.Batch] = []
        for (b, hosts) in batches.enumerated() {
            var steps: [Plan.PlannedStep] = []
            for (i, step) in runbook.steps.enumerated() {
                if Self.scope(of: step) == .once, b > 0, !step.everyBatch { continue }
                steps.append(plannedStep(step, index: i + 1, batchHosts: hosts))
            }
            plannedBatches.append(Plan.Batch(index: b + 1, hosts: hosts.map(\.name), steps: steps))
        }
        if bag.hasErrors { throw DiagnosticsError(bag.items) }

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
            maxFailures: runbook.strategy.maxFailures.description, onFailure: onFailure,
            preflight: preflight, batches: plannedBatches
        )
    }

    // MARK: - Describing steps

    func describe(_ step: Step, in scope: TemplateScope, bag: inout DiagnosticBag) -> String {
        var description = PlanDescription(renderer: renderer, scope: scope, bag: bag)
        let text = description.describe(step)
        bag = description.bag
        return text
    }
}
