/// A step ready to run: includes expanded in place, each with the params it sees.
public struct ExpandedStep: Sendable {
    public var step: Step
    /// 1-based position in the runbook (and inside an include, "3.2").
    public var label: String
    public var ordinal: Int
    public var params: [String: ConfigValue]?

    /// Expands `include` steps (recursively, at most 8 deep) with their params rendered in `scope`.
    public static func expand(_ steps: [Step], runbook: Runbook, resolver: (any IncludeResolver)?, renderer: any TemplateRendering,
                              scope: TemplateScope, prefix: String = "", depth: Int = 0) throws(StepFailure) -> [ExpandedStep] {
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
            guard depth < 8 else { throw StepFailure("\(include.location): includes nest more than 8 deep") }
            guard let resolver else { throw StepFailure("\(include.location): include is not available here") }
            let inner: Runbook
            do {
                inner = try resolver.runbook(for: include, from: runbook)
            } catch {
                throw StepFailure("\(include.location): cannot include \(include.runbook): \(error)")
            }
            var given: [(name: String, value: String)] = []
            for entry in include.params {
                let text: String
                if let template = entry.template {
                    do { text = try renderer.render(template, in: scope).plainValue } catch {
                        throw StepFailure("\(entry.location): \(error)")
                    }
                } else {
                    text = entry.value.text
                }
                given.append((entry.key, text))
            }
            let params: [String: ConfigValue]
            switch ParamBinder.bind(given, to: inner) {
            case .success(let bound): params = bound
            case .failure(let error): throw StepFailure(error.diagnostics.map(\.message).joined(separator: "; "))
            }
            var innerScope = scope
            innerScope.params = params
            let expanded = try expand(inner.steps, runbook: inner, resolver: resolver, renderer: renderer, scope: innerScope,
                                      prefix: label, depth: depth + 1)
            out += expanded.map { var e = $0; e.params = e.params ?? params; return e }
        }
        return out.enumerated().map { var e = $1; e.ordinal = $0 + 1; return e }
    }

    /// The runbook's `rollback:` list as it runs, includes expanded like the steps': step N is
    /// "rollback N" at journal position `Orchestrator.rollbackOrdinalBase + N`.
    public static func expandRollback(of runbook: Runbook, resolver: (any IncludeResolver)?, renderer: any TemplateRendering,
                                      scope: TemplateScope) throws(StepFailure) -> [ExpandedStep] {
        try expand(runbook.rollback, runbook: runbook, resolver: resolver, renderer: renderer, scope: scope).map {
            var step = $0
            step.label = "rollback \($0.label)"
            step.ordinal += Orchestrator.rollbackOrdinalBase
            return step
        }
    }
}
