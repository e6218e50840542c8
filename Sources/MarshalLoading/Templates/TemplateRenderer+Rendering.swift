import MarshalCore

extension TemplateRenderer: TemplateRendering {
    public func render(_ template: TemplateString, in scope: TemplateScope) throws -> RenderedText {
        do {
            return try renderText(template, in: scope)
        } catch {
            throw error.diagnostic
        }
    }
}
