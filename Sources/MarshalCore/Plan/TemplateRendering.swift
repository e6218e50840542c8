/// Renders runbook templates; implemented with Stencil in MarshalLoading.
public protocol TemplateRendering: Sendable {
    func render(_ template: TemplateString, in scope: TemplateScope) throws -> RenderedText
}
