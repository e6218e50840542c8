/// A step ready to run: includes expanded in place, each with the params it sees.
public struct ExpandedStep: Sendable {
    public var step: Step
    /// 1-based position in the runbook (and inside an include, "3.2").
    public var label: String
    public var ordinal: Int
    public var params: [String: ConfigValue]?
    /// Those of `params` given a secret (`{{ secrets.X }}` in an include's or on_failure's params),
    /// as secrets: the step's templates get them masked and off argument lists, as `secrets.X`.
    public var secretParams: [String: Secret] = [:]

    public init(step: Step, label: String, ordinal: Int, params: [String: ConfigValue]?) {
        self.step = step
        self.label = label
        self.ordinal = ordinal
        self.params = params
    }

    /// The scope this step's templates render in, from the run's (or a host's): its own params.
    public func scope(from base: TemplateScope) -> TemplateScope {
        guard let params else { return base }
        var scope = base
        scope.params = params
        scope.secretParams = secretParams
        return scope
    }

    /// Expands `include` steps (recursively, at most 8 deep, never in a cycle) with their params
    /// rendered in `scope`. `including`: the runbooks that include this one, outermost first.
    public static func expand(_ steps: [Step], runbook: Runbook, resolver: (any IncludeResolver)?, renderer: any TemplateRendering,
                              scope: TemplateScope, prefix: String = "", including: [Runbook] = []) throws(StepFailure) -> [ExpandedStep] {
        var out: [ExpandedStep] = []
        for (i, step) in steps.enumerated() {
            let label = prefix.isEmpty ? "\(i + 1)" : "\(prefix).\(i + 1)"
            guard let include = step.kind.as(IncludeStep.self) else {
                var resolved = step
                if step.hasTemplated {
                    do throws(TemplatedFieldError) { resolved = try step.resolvingTemplated(renderer: renderer, scope: scope) } catch {
                        throw StepFailure(error.description)
                    }
                }
                out.append(ExpandedStep(step: resolved, label: label, ordinal: 0, params: nil))
                continue
            }
            guard including.count < 8 else { throw StepFailure("includes nest more than 8 deep", at: include.location) }
            guard let resolver else { throw StepFailure("include is not available here", at: include.location) }
            let inner: Runbook
            do {
                inner = try resolver.runbook(for: include, from: runbook)
            } catch {
                throw StepFailure("cannot include \(include.runbook): \(error)", at: include.location)
            }
            let chain = including + [runbook]
            if chain.contains(where: { $0.path == inner.path }) {
                let names = (chain + [inner]).drop { $0.path != inner.path }.map(\.name)
                throw StepFailure("runbook '\(inner.name)' includes itself through \(names.joined(separator: " → ")): the steps would never end",
                                  at: include.location)
            }
            var given: [(name: String, value: String)] = []
            var secretParams: [String: Secret] = [:]
            for entry in include.params {
                let text: String
                if let template = entry.template {
                    let rendered: RenderedText
                    do { rendered = try renderer.render(template, in: scope) } catch {
                        throw StepFailure(rendering: error, of: template)
                    }
                    text = rendered.plainValue
                    if !rendered.secrets.isEmpty { secretParams[entry.key] = Secret(name: "params.\(entry.key)", value: text) }
                } else {
                    text = entry.value.text
                }
                given.append((entry.key, text))
            }
            let params: [String: ConfigValue]
            switch ParamBinder.bind(given, to: inner) {
            case .success(let bound): params = bound
            case .failure(let error):
                throw StepFailure("include of \(include.runbook): " + error.diagnostics.map(\.message).joined(separator: "; "), at: include.location)
            }
            var innerScope = scope
            innerScope.params = params
            innerScope.secretParams = secretParams
            let expanded = try expand(inner.steps, runbook: inner, resolver: resolver, renderer: renderer, scope: innerScope,
                                      prefix: label, including: chain)
            out += expanded.map {
                var e = $0
                if e.params == nil { (e.params, e.secretParams) = (params, secretParams) }
                return e
            }
        }
        return out.enumerated().map { var e = $1; e.ordinal = $0 + 1; return e }
    }

    /// The runbook's `rollback:` list as it runs, includes expanded like the steps': step N is
    /// "rollback N" at journal position `Orchestrator.rollbackOrdinalBase + N`.
    public static func expandRollback(of runbook: Runbook, resolver: (any IncludeResolver)?, renderer: any TemplateRendering,
                                      scope: TemplateScope) throws(StepFailure) -> [ExpandedStep] {
        try expand(runbook.rollback, runbook: runbook, resolver: resolver, renderer: renderer, scope: scope).map(\.inRollbackList)
    }

    /// This step of the `rollback:` list as it runs and is journaled.
    public var inRollbackList: ExpandedStep {
        var step = self
        step.label = "rollback \(label)"
        step.ordinal += Orchestrator.rollbackOrdinalBase
        return step
    }
}
