/// Renders runbook templates; implemented with Stencil in MarshalLoading.
public protocol TemplateRendering: Sendable {
    /// Throws a `Diagnostic` (with its code and the template's position) when the template cannot
    /// be rendered.
    func render(_ template: TemplateString, in scope: TemplateScope) throws -> RenderedText
}
