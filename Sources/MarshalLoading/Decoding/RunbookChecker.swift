import MarshalCore

/// The cross-reference pass: names used in templates and expressions exist, step ids are unique,
/// and, when an environment is given, targets, secrets and vars resolve in it.
struct RunbookChecker {
    var diagnostics = DiagnosticBag()
    private var allIDs: Set<String> = []

    mutating func check(_ runbook: Runbook, environment: Environment?) {
        var seenIDs: [String: SourceLocation] = [:]
        var available: Set<String> = []   // step ids and register names defined so far
        let all = runbook.preflight + runbook.steps
        // `baseline.<id>` may name any step of the runbook: the baseline run ran all of them.
        allIDs = Set((all + runbook.rollback).compactMap(\.id))

        // Ids are unique across preflight and steps; references must point backwards.
        let preflightCount = runbook.preflight.count
        for (index, step) in all.enumerated() {
            checkWindow(step, available: available, inPreflight: index < preflightCount, spanned: step.over.flatMap { over in
                if case .span(let id) = over { all.first { $0.id == id } } else { nil }
            })
            checkStep(step, runbook: runbook, environment: environment, available: &available, seenIDs: &seenIDs)
        }
        // `rollback:` steps run after the steps: every step's evidence is in scope, in order. They
        // get every check the steps get: a rollback list that fails only when it runs fails at the worst time.
        for step in runbook.rollback {
            checkStep(step, runbook: runbook, environment: environment, available: &available, seenIDs: &seenIDs)
            checkNoPause(step, in: Step.rollbackListPlace)
        }
        for step in all { if let undo = step.undoStep { checkNoPause(undo, in: Step.undoPlace) } }
        // `on_failure: { run: }` renders its runbook and params once the run has failed, with every
        // step's evidence and `failed_run` in scope: a misspelt name there would surface only then.
        if case .run(let name, let params) = runbook.onFailure {
            for template in [name] + params.compactMap(\.template) {
                checkTemplate(template, runbook: runbook, environment: environment, available: available)
            }
        }
        if let environment {
            checkTargets(runbook.targets, environment, what: "'targets'")
            if runbook.targets.resolve(in: environment).isEmpty, runbook.targets.unknownNames(in: environment).isEmpty {
                diagnostics.error("'targets' (\(runbook.targets)) selects no host of environment '\(environment.name)'", at: runbook.targets.location)
            }
        }
    }

    /// The checks every step gets, wherever it stands: its templates, expressions and `on:` (and its
    /// undo step's), a unique id, its include and its kind's own rules. Its id and `register` name
    /// are in scope for the steps after it.
    private mutating func checkStep(_ step: Step, runbook: Runbook, environment: Environment?,
                                    available: inout Set<String>, seenIDs: inout [String: SourceLocation]) {
        for s in step.withUndo {
            checkTemplates(s, runbook: runbook, environment: environment, available: available)
            checkExpressions(s, runbook: runbook, environment: environment, available: available)
            if let on = s.on, let environment { checkTargets(on, environment, what: "'on'") }
            s.kind.plugin.validate(s) { message, location in diagnostics.error(message, at: location) }
        }
        if let id = step.id {
            if let first = seenIDs[id] {
                diagnostics.error("duplicate step id '\(id)'; it is already used at line \(first.line)", at: step.location)
            } else {
                seenIDs[id] = step.location
            }
            available.insert(id)
        }
        if let register = step.register { available.insert(register) }
        if let include = step.kind.as(IncludeStep.self) { checkInclude(include, step: step, runbook: runbook) }
        if let undo = step.undoStep, undo.kind.is(IncludeStep.self) {
            // An undo is one step run where its step completed; an include is expanded into steps
            // before a run, so as an undo it could never run.
            diagnostics.error("an undo cannot be an include: it is one step, run where this step completed; put shared undo steps in the runbook's rollback: list (which may include them)", at: undo.location)
        }
    }

    /// A rollback does not wait: a step there that pauses for approval (an approve step, a gate with
    /// `on_no_data: pause`) was passed over and the rollback went on without it.
    private mutating func checkNoPause(_ step: Step, in place: String) {
        if let refusal = step.pauseRefusal(in: place) { diagnostics.error(refusal, at: step.location) }
    }

    /// `delta(x)`/`rate(x)` need `over:`; `over: ID` names an earlier step of the same batch loop;
    /// a redis check's window needs its `keys` to hold what `delta` reads.
    private mutating func checkWindow(_ step: Step, available: Set<String>, inPreflight: Bool, spanned: Step?) {
        let windowed = step.expressions.flatMap(\.windowedNames)
        if step.over == nil, let first = step.expressions.first(where: { !$0.windowedNames.isEmpty }) {
            diagnostics.error("'\(first.source)' uses \(windowed.map { "delta/rate(\($0))" }.first ?? "delta/rate"), which needs a window: give the \(step.kind.name) check 'over: 60s' or 'over: STEP_ID' (a step's span)",
                              at: first.location)
        }
        guard let over = step.over else { return }
        if !GateWindow.kinds.contains(step.kind.name) {
            diagnostics.error("'over' measures a number at both ends of a window; a \(step.kind.name) step has none (use it on probe, sql, redis or metric)", at: step.location)
        }
        guard case .span(let id) = over else { return }
        if inPreflight {
            diagnostics.error("'over: \(id)' in preflight: preflight checks run before any step, so no step's span can be measured", at: step.location)
        } else if !available.contains(id) {
            let hint = spanned == nil ? "no step has id '\(id)'" : "step '\(id)' comes after this one"
            diagnostics.error("'over: \(id)' must name an earlier step whose span to measure; \(hint)\(Suggestion.hint(for: id, in: Array(available)))", at: step.location)
        } else if let spanned, Planner.scope(of: spanned) == .once, Planner.scope(of: step) != .once {
            diagnostics.error("'over: \(id)': step '\(id)' runs only in the first batch (it has 'on:'), so this check would have no window in later batches; give it 'on:' too", at: step.location)
        }
    }

    private mutating func checkTargets(_ selector: TargetSelector, _ environment: Environment, what: String) {
        for name in selector.unknownNames(in: environment) {
            let candidates = environment.roles + environment.hosts.map(\.name)
            diagnostics.error("\(what) names '\(name)', which is neither a host nor a role of environment '\(environment.name)'\(Suggestion.hint(for: name, in: candidates)); roles: \(environment.roles.joined(separator: ", "))",
                              at: selector.location)
        }
    }

    private mutating func checkTemplates(_ step: Step, runbook: Runbook, environment: Environment?, available: Set<String>) {
        for template in step.templates {
            checkTemplate(template, runbook: runbook, environment: environment, available: available)
        }
    }

    private mutating func checkTemplate(_ template: TemplateString, runbook: Runbook, environment: Environment?, available: Set<String>) {
        let syntax = TemplateSyntax(template)
        diagnostics.append(contentsOf: syntax.diagnostics)
        for placeholder in syntax.placeholders where !placeholder.path.isEmpty {
            checkName(placeholder.path, at: placeholder.location, runbook: runbook, environment: environment,
                      available: available, hasDefault: placeholder.filters.contains { $0.hasPrefix("default") })
        }
    }

    private mutating func checkExpressions(_ step: Step, runbook: Runbook, environment: Environment?, available: Set<String>) {
        // Every name must be able to have a value where the expression is evaluated (issue 12):
        // the step's own results for its kind, or a template name that resolves.
        for (expression, scope) in step.expressionScopes {
            for (name, location) in expression.namesWithLocations {
                guard scope.admits(name) else {
                    diagnostics.error(scope.refusal(name), at: location)
                    continue
                }
                let path = name.split(separator: ".").map(String.init)
                if TemplateScope.roots.contains(path[0]), path[0] != "steps", !scope.own.contains(path[0]) {
                    checkName(path, at: location, runbook: runbook, environment: environment, available: available, hasDefault: false)
                }
            }
        }
        for expression in step.expressions {
            for name in expression.names where name.hasPrefix("steps.") {
                let parts = name.split(separator: ".").map(String.init)
                if parts.count >= 2, !available.contains(parts[1]) {
                    diagnostics.error("'\(name)' refers to step '\(parts[1])', which is not defined before this step\(Suggestion.hint(for: parts[1], in: Array(available)))",
                                      at: expression.location)
                }
            }
            for name in expression.names where name.hasPrefix(Baseline.root + ".") || name == Baseline.root {
                let parts = name.split(separator: ".").map(String.init)
                if parts.count < 3 {
                    diagnostics.error("'\(name)' needs a step id and a figure, such as baseline.load.p95 (the baseline run's p95 of step 'load')", at: expression.location)
                } else if !allIDs.contains(parts[1]) {
                    diagnostics.error("'\(name)' refers to step '\(parts[1])', and this runbook has no step with that id\(Suggestion.hint(for: parts[1], in: Array(allIDs)))",
                                      at: expression.location)
                }
            }
        }
    }

    private mutating func checkName(_ path: [String], at location: SourceLocation, runbook: Runbook, environment: Environment?,
                                    available: Set<String>, hasDefault: Bool) {
        let root = path[0]
        let dotted = path.joined(separator: ".")
        switch root {
        case "params":
            guard path.count >= 2 else { return diagnostics.error("'params' needs a name, such as params.release", at: location) }
            if runbook.param(named: path[1]) == nil, !hasDefault {
                diagnostics.error("undefined name '\(dotted)': the runbook declares no param '\(path[1])'\(Suggestion.hint(for: path[1], in: runbook.params.map(\.name)))", at: location)
            }
        case "steps":
            guard path.count >= 2 else { return diagnostics.error("'steps' needs a step id, such as steps.backup.path", at: location) }
            if !available.contains(path[1]) {
                diagnostics.error("undefined name '\(dotted)': no step with id or register '\(path[1])' runs before this one\(Suggestion.hint(for: path[1], in: Array(available)))", at: location)
            }
        case "secrets":
            guard path.count == 2 else { return diagnostics.error("a secret is used whole, as secrets.NAME; '\(dotted)' has \(path.count - 1) parts", at: location) }
            if let environment, !environment.secrets.contains(where: { $0.name == path[1] }) {
                diagnostics.error("undefined name '\(dotted)': environment '\(environment.name)' declares no secret '\(path[1])'\(Suggestion.hint(for: path[1], in: environment.secrets.map(\.name)))", at: location)
            }
        case "vars":
            guard path.count >= 2 else { return }
            if let environment, !hasDefault {
                let names = Set(environment.vars.map(\.key) + environment.hosts.flatMap { $0.vars.map(\.key) })
                if !names.contains(path[1]) {
                    diagnostics.error("undefined name '\(dotted)': environment '\(environment.name)' defines no var '\(path[1])'\(Suggestion.hint(for: path[1], in: Array(names)))", at: location)
                }
            }
        case "host":
            let fields = ["name", "address", "port", "roles", "vars"]
            if path.count >= 2, !fields.contains(path[1]) {
                diagnostics.error("undefined name '\(dotted)': a host has \(fields.joined(separator: ", "))\(Suggestion.hint(for: path[1], in: fields))", at: location)
            }
        case "run":
            let fields = RunScope.keys
            if path.count != 2 || !fields.contains(path[1]) {
                diagnostics.error("undefined name '\(dotted)': run has \(fields.joined(separator: ", "))", at: location)
            }
        case "env":
            if path.count != 2 { diagnostics.error("use env.NAME for a variable of Marshal's own process environment", at: location) }
        case "failed_run":
            let fields = FailedRunScope.keys
            if path.count != 2 || !fields.contains(path[1]) {
                diagnostics.error("undefined name '\(dotted)': failed_run has \(fields.joined(separator: ", ")) (set in a runbook's rollback: steps and in on_failure: { run: } params)", at: location)
            }
        default:
            diagnostics.error("undefined name '\(dotted)'; names start with one of: \(TemplateScope.roots.joined(separator: ", "))\(Suggestion.hint(for: root, in: TemplateScope.roots))", at: location)
        }
    }

    private mutating func checkInclude(_ include: IncludeStep, step: Step, runbook: Runbook) {
        if include.runbook == runbook.name || include.runbook == runbook.path {
            diagnostics.error("runbook '\(runbook.name)' includes itself", at: include.location)
        }
        // Params are rendered when the include is expanded, once, before any step runs (at the
        // start of the run): a step's evidence has no value then, and was passed on as its own
        // text ("{{ steps.ship.stdout }}"). The included runbook cannot name the step either.
        for entry in include.params {
            guard let template = entry.template else { continue }
            for case .placeholder(let placeholder) in TemplateSyntax(template).parts where placeholder.path.first == "steps" {
                let name = placeholder.path.joined(separator: ".")
                diagnostics.error("include params are rendered once, before any step runs, when '\(name)' has no value: a step's evidence cannot be passed to an included runbook",
                                  at: placeholder.location)
            }
        }
        // The include is replaced by its steps before a run, so these would be dropped without a
        // word: a `when:` guarding a migration would not guard it, and `steps.ID` of an include
        // names no evidence.
        let dropped = [("id", step.id != nil), ("on", step.on != nil), ("every_batch", step.everyBatch), ("when", step.when != nil),
                       ("retries", step.retries != 0), ("until", step.until != nil), ("timeout", step.timeout != nil),
                       ("register", step.register != nil), ("ignore_failure", step.ignoreFailure), ("label", step.label != nil),
                       ("idempotent", step.idempotent), ("undo_on_failure", step.undoOnFailure != nil), ("over", step.over != nil)]
            .filter(\.1).map { "'\($0.0)'" }
        if !dropped.isEmpty {
            let hint = step.when == nil ? "" : " (a condition can test a param the include passes)"
            diagnostics.error("an include takes no \(dropped.joined(separator: ", ")): it is replaced by the steps of '\(include.runbook)', which run as they are written; put \(dropped.count == 1 ? "it" : "them") on those steps\(hint)",
                              at: step.when?.location ?? step.location)
        }
    }
}
