import Foundation
import MarshalCore
import Testing
@testable import MarshalLoading

/// Each kind lists the templates it holds (`templates`), and the checker validates exactly those:
/// a template field left out of the list would never have its names checked before a run.
@Suite("Every template a step kind holds is in its templates list")
struct KindTemplatesTests {
    /// Every TemplateString inside a value, found by reflection (never inside a TemplateString).
    static func held(in value: Any) -> [TemplateString] {
        if let template = value as? TemplateString { return [template] }
        return Mirror(reflecting: value).children.flatMap { held(in: $0.value) }
    }

    /// Each step of `runbook` (its preflight, steps, undos and rollback list) lists every template it holds.
    static func expectListed(_ runbook: Runbook) {
        let steps = runbook.preflight + runbook.steps + runbook.rollback
        for step in steps + steps.compactMap(\.undoStep) {
            let listed = Set(step.kind.plugin.templates.map(\.source))
            let found = Set(held(in: step.kind.plugin).map(\.source))
            #expect(found.subtracting(listed).isEmpty, "\(runbook.name): \(step.kind.name): not in its templates list: \(found.subtracting(listed).sorted())")
        }
    }

    @Test("each built-in kind's example, decoded: reflection finds no template its templates list leaves out", arguments: StepDeclarations.kinds.map(\.name))
    func examples(_ kind: String) throws {
        let declaration = try #require(StepDeclarations.kind(kind))
        let steps = declaration.example.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
        let text = "version: 1\nrunbook: example\nsteps:\n\(steps)\n"
        let loaded = Loader(root: Repo.root).loadRunbook(path: Repo.temporaryFile(text, name: "example.yml"))
        Self.expectListed(try #require(loaded.value, "\(loaded.diagnostics)"))
    }

    @Test("each shipped runbook, decoded: the same for every step it holds", arguments: ["index-migration", "production-rollout", "queue-workers", "rollback", "staging-deploy", "validation"])
    func shipped(_ name: String) throws {
        let loaded = Loader(root: Repo.root).loadRunbook(path: Repo.root + "/Runbooks/\(name).yml")
        Self.expectListed(try #require(loaded.value, "\(loaded.diagnostics)"))
    }
}
