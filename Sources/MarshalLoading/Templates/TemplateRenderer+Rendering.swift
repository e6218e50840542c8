import MarshalCore

extension TemplateRenderer: TemplateRendering {
    public func render(_ template: TemplateString, in scope: TemplateScope) throws -> RenderedText {
        try renderText(template, in: scope)
    }
}
