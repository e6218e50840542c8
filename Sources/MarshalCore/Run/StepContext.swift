/// What a step needs while it runs: how to render templates, the scope, where to report.
public struct StepContext: Sendable {
    public var runId: String
    public var renderer: any TemplateRendering
    public var scope: TemplateScope
    public var masker: SecretMasker
    public var approvals: Set<String>
    public var batch: Int?
    /// The run `baseline.<step id>.<metric>` reads from.
    public var baseline: Baseline? = nil
    /// For a load test with `targets: batch`: the batch's own hosts and (with `compare: stable`)
    /// hosts not yet updated, each with its template scope.
    public var loadTargets: LoadTargets? = nil
    /// The run's clock: retries, `within:` deadlines and soaks wait on it.
    public var clock: any Clock
    /// The files of this machine (a release's artifact).
    public var files: any LocalFiles
    /// Where a long step reports how far it has got (the run's observer); nil when nobody listens.
    public var progress: (@Sendable (StepProgress) -> Void)? = nil
    /// For a gate with `over:`: what it measured at the start of its window.
    public var window: WindowSample? = nil
    /// Why a gate measured over a named span has no window (its first sample failed, or the span did not run).
    public var windowProblem: String? = nil

    public init(runId: String, renderer: any TemplateRendering, scope: TemplateScope, masker: SecretMasker,
                approvals: Set<String>, batch: Int?, clock: any Clock, files: any LocalFiles,
                baseline: Baseline? = nil, loadTargets: LoadTargets? = nil,
                progress: (@Sendable (StepProgress) -> Void)? = nil) {
        self.baseline = baseline
        self.loadTargets = loadTargets
        self.runId = runId
        self.renderer = renderer
        self.scope = scope
        self.masker = masker
        self.approvals = approvals
        self.batch = batch
        self.clock = clock
        self.files = files
        self.progress = progress
    }

    /// Renders a template or throws a message naming where it was written.
    public func render(_ template: TemplateString) throws(StepFailure) -> RenderedText {
        do {
            return try renderer.render(template, in: scope)
        } catch {
            throw StepFailure(rendering: error, of: template)
        }
    }

    /// `--approve` named this step, by id or name.
    public func isApproved(_ step: Step) -> Bool {
        approvals.contains(step.id ?? "") || approvals.contains(step.name)
    }

    /// How the operator lets a paused step go on.
    public func resumeHint(for step: Step) -> String {
        "continue with `marshal resume \(runId) --approve '\(step.id ?? step.name)'`"
    }

    public func expressionScope(_ values: [String: ExprValue] = [:], document: ExprValue? = nil) -> StepScope {
        StepScope(templates: scope, values: values, document: document, baseline: baseline, batch: batch, window: window)
    }
}

/// The hosts a per-batch load test loads, each with the scope its `base_url` is rendered in.
public struct LoadTargets: Sendable {
    public var canary: [TemplateScope]
    public var stable: [TemplateScope]
    public init(canary: [TemplateScope], stable: [TemplateScope]) {
        self.canary = canary
        self.stable = stable
    }
}

/// A step could not be carried out; the message is for the operator.
public struct StepFailure: Error, Sendable, CustomStringConvertible {
    /// What went wrong, without its place.
    public var detail: String
    /// The place in a runbook it is about (an include, a param), when there is one.
    public var location: SourceLocation?

    public init(_ message: String) { detail = message }
    public init(_ detail: String, at location: SourceLocation) {
        self.detail = detail
        self.location = location
    }

    /// A template that did not render: the renderer's diagnostic carries its own place (printed
    /// once, not again in front of its text); any other error is placed at the template.
    public init(rendering error: any Error, of template: TemplateString) {
        if let diagnostic = error as? Diagnostic {
            self.init(diagnostic.message, at: diagnostic.location)
        } else {
            self.init("\(error)", at: template.location)
        }
    }

    /// For the operator: the place first, when there is one.
    public var message: String { location.map { "\($0): \(detail)" } ?? detail }
    public var description: String { message }
}
