import Foundation
@testable import MarshalReport
import Testing

/// The templates compiled into the binary are the ones in Templates/, so an installed binary
/// writes the same report as the checkout does.
@Suite("Built-in report templates")
struct EmbeddedTemplateTests {
    @Test("DefaultTemplates.swift holds every Templates/*.md byte for byte (run scripts/embed-templates after editing one)")
    func embeddedMatchFolder() throws {
        let folder = ReportTests.templates
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".md") }
        #expect(!names.isEmpty)
        #expect(Set(names.map { String($0.dropLast(3)) }) == Set(DefaultTemplates.all.keys))
        for name in names {
            let text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
            #expect(DefaultTemplates.all[String(name.dropLast(3))] == text, "\(name) differs from its built-in copy")
        }
    }

    @Test("with no Templates/ folder on the search path, the built-in template is used; an unknown name still fails")
    func fallsBackToBuiltIn() throws {
        let renderer = ReportRenderer(searchPaths: ["/nonexistent-\(UUID().uuidString)"])
        let found = try renderer.templateText("optimization-results")
        #expect(found.origin == "built-in optimization-results")
        #expect(throws: ReportRenderer.Failure.self) { try renderer.templateText("no-such-template") }
    }
}
