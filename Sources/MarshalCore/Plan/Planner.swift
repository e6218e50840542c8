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

    public static func scope(of step: Step) -> Scope {
        if step.on != nil { return .once }
        switch step.kind {
        case .http, .health: return .eachHost
        default: return step.kind.runsFromController ? .oncePerBatch : .eachHost
        }
    }

    /// A load test with `targets: batch` renders its URL for each host of the batch.
    static func loadsBatchHosts(_ step: Step) -> Bool {
        if case .benchmark(let b) = step.kind, b.targets == .batch { return true }
        return false
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

    func render(_ t: TemplateString, in scope: TemplateScope, bag: inout DiagnosticBag) -> RenderedText {
        do {
            return try renderer.render(t, in: scope)
        } catch {
            let text = String(describing: error)
            // Renderer errors already carry "file:line:col: error: "; keep only the message part.
            let message = text.components(separatedBy: ": error: ").last ?? text
            if let host = scope.host { bag.error(message, at: t.location, host: host.name) } else { bag.error(message, at: t.location) }
            return RenderedText(literal: t.source)
        }
    }

    func describe(_ step: Step, in scope: TemplateScope, bag: inout DiagnosticBag) -> String {
        func r(_ t: TemplateString) -> RenderedText { render(t, in: scope, bag: &bag) }
        func expect(_ e: Expression?) -> String { e.map { "; expect \($0.source)" } ?? "" }
        switch step.kind {
        case .shell(let s):
            let command = r(s.command).display
            return s.chdir.map { "cd \(r($0).display) && \(command)" } ?? command
        case .upload(let u):
            return "upload \(r(u.source).plainDisplay) → \(r(u.destination).plainDisplay) (mode \(String(u.mode, radix: 8)), sha256 checked)"
        case .release(let rel):
            let id = rel.releaseID.map { r($0).plainDisplay } ?? "<run id>"
            if let template = rel.releaseID, !id.contains("{{"), let problem = PathComponent.problem(id) {
                bag.error("release id is not usable: \(problem); \(PathComponent.rule)", at: template.location)
            }
            if let problem = PathComponent.problemInParams(rel.path, params: scope.params) { bag.error("release path: \(problem)", at: rel.path.location) }
            let path = r(rel.path).plainDisplay
            return "release \(r(rel.artifact).plainDisplay) → \(path)/releases/\(id), switch \(path)/current, keep \(rel.keep)"
        case .service(let s):
            let managerName = r(s.manager).plainValue
            guard let manager = ServiceStep.Manager(rawValue: managerName) else {
                bag.error("'manager' rendered to '\(managerName)'; expected pm2, systemd or supervisor", at: s.manager.location)
                return "?"
            }
            return ServiceCommands.command(manager: manager, action: s.action, name: r(s.name).plainValue,
                                           config: s.config.map { r($0).plainValue }).display
        case .migrate(let m):
            return "apply \(r(m.directory).plainDisplay)/*.sql in name order to \(r(m.database).plainDisplay) (one transaction per file, recorded in marshal_migrations)"
        case .backup(let b):
            let to = b.to.map { r($0).plainDisplay } ?? "<state>/backups/<run id>.dump"
            return "pg_dump -Fc \(r(b.database).plainDisplay) → \(to) (path, size, sha256 recorded)"
        case .restore(let rs):
            return "pg_restore \(r(rs.from).plainDisplay) → \(rs.database.map { r($0).plainDisplay } ?? "the backup's database")"
        case .sql(let s):
            return "psql \(r(s.database).plainDisplay): \(r(s.query).plainDisplay)\(expect(s.expect))"
        case .http(let h), .health(let h):
            var parts = ["\(h.method) \(r(h.url).plainDisplay)", "expect status \(h.expect.statuses.map(String.init).joined(separator: "|"))"]
            parts += h.expect.json.map { entry in
                if case .string(let text) = entry.value {
                    return "\(entry.path) == \(r(TemplateString(text, at: entry.location)).plainDisplay)"
                }
                return "\(entry.path) == \(entry.value.text)"
            }
            if let c = h.expect.condition { parts.append(c.source) }
            if let within = h.within { parts.append("within \(DurationText.format(within))") }
            return parts.joined(separator: ", ")
        case .benchmark(let b):
            let load: String
            if let c = b.connections {
                load = "closed loop: \(c) connections for \(DurationText.format(b.duration ?? .zero))"
            } else {
                load = "open loop: " + b.phases.map { p in
                    let rate = p.rampTo.map { "\(Self.number(p.rate))→\(Self.number($0))/s" } ?? "\(Self.number(p.rate))/s"
                    return "\(p.name.map { "\($0) " } ?? "")\(DurationText.format(p.duration)) at \(rate)"
                }.joined(separator: ", ")
            }
            let scenarios = b.scenarios.map { "\($0.method) \(r($0.path).plainDisplay) (weight \($0.weight))" }.joined(separator: ", ")
            let thresholds = b.thresholds.map(\.condition.source).joined(separator: ", ")
            let compare = b.compare == .stable ? " at the same time as the same load on as many hosts not yet updated (stable)" : ""
            return "load \(r(b.baseURL).plainDisplay)\(compare): \(load); scenarios: \(scenarios)" + (thresholds.isEmpty ? "" : "; thresholds: \(thresholds)")
        case .probe(let p):
            let extract: String
            switch p.extract {
            case .regex(let re): extract = " | extract /\(re)/"
            case .jsonPath(let path): extract = " | extract \(path)"
            case .wholeOutput: extract = ""
            }
            return "\(r(p.command).display)\(extract)\(expect(p.expect))"
        case .metric(let m):
            return "prometheus \(r(m.prometheus).plainDisplay): \(r(m.query).plainDisplay)\(expect(m.expect))"
        case .soak(let s):
            let gates = s.gates.map { "[\(describe($0, in: scope, bag: &bag))]" }.joined(separator: " ")
            return "every \(DurationText.format(s.interval)) for \(DurationText.format(s.duration)): \(gates)"
        case .approve(let a):
            return "pause for approval\(a.message.map { ": \(r($0).plainDisplay)" } ?? "") (resume with --approve '\(step.id ?? step.name)')"
        case .wait(let w):
            return "wait \(DurationText.format(w.duration))"
        case .notify(let n):
            return "POST \(r(n.url).plainDisplay) on \(n.events.map(\.rawValue).joined(separator: ", "))"
        case .include(let i):
            return "include runbook \(i.runbook)"
        }
    }

    static func number(_ d: Double) -> String {
        d.rounded() == d ? String(Int(d)) : String(d)
    }
}
