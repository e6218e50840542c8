/// What a step kind's `describe` renders with while the planner builds a plan: the scope of one
/// host (or of this machine), and a place for the problems found (errors name the host).
public struct PlanDescription {
    public var renderer: any TemplateRendering
    public var scope: TemplateScope
    var bag: DiagnosticBag

    init(renderer: any TemplateRendering, scope: TemplateScope, bag: DiagnosticBag) {
        self.renderer = renderer
        self.scope = scope
        self.bag = bag
    }

    /// Renders a template; a problem is recorded (at the template, for this host) and the
    /// template's own text is shown in its place.
    public mutating func render(_ t: TemplateString) -> RenderedText {
        do {
            return try renderer.render(t, in: scope)
        } catch {
            // A renderer's diagnostic carries its own position; the finding is placed at the template's.
            let message = (error as? Diagnostic)?.message ?? "\(error)"
            self.error(message, at: t.location)
            return RenderedText(literal: t.source)
        }
    }

    /// The run's id, or its reference while planning a run that has not started.
    public var runId: String { scope.run["id"] ?? "{{ run.id }}" }

    /// Text with every secret of the scope masked, as the run's journal masks it.
    public func mask(_ text: String) -> String { SecretMasker(Array(scope.secrets.values)).mask(text) }

    public mutating func error(_ message: String, at location: SourceLocation) {
        if let host = scope.host { bag.error(message, at: location, host: host.name) } else { bag.error(message, at: location) }
    }

    /// Another step's description in this scope (a soak's gates).
    public mutating func describe(_ step: Step) -> String {
        step.kind.plugin.describe(step, in: &self)
    }

    /// A number as a runbook would write it (`10`, not `10.0`).
    public static func number(_ d: Double) -> String {
        d.rounded() == d ? String(Int(d)) : String(d)
    }
}
