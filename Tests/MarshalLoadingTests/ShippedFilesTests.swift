import Foundation
import MarshalCore
import Testing
@testable import MarshalLoading

@Suite("Shipped runbooks and environments")
struct ShippedFilesTests {
    let loader = Loader(root: Repo.root)

    @Test("Runbooks/ and Environments/ validate with no diagnostics at all")
    func allValid() {
        let diagnostics = loader.validate(paths: [Repo.root + "/Runbooks", Repo.root + "/Environments"], environmentPath: nil)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
    }

    @Test("every shipped runbook validates against every shipped environment",
          arguments: ["staging-deploy", "validation", "production-rollout", "rollback", "index-migration"])
    func againstEnvironments(runbook: String) {
        for environment in ["local", "staging", "production"] {
            let diagnostics = loader.validate(paths: [loader.runbookPath(runbook)], environmentPath: loader.environmentPath(environment))
            #expect(diagnostics.isEmpty, "\(runbook) against \(environment): \(diagnostics)")
        }
    }

    @Test("queue-workers validates against the lab, whose workers run under supervisor")
    func queueWorkers() {
        let diagnostics = loader.validate(paths: [loader.runbookPath("queue-workers")], environmentPath: loader.environmentPath("local"))
        #expect(diagnostics.isEmpty, "\(diagnostics)")
    }

    @Test("the production environment is protected and checks host keys strictly")
    func production() throws {
        let environment = try #require(loader.loadEnvironment(path: loader.environmentPath("production")).value)
        #expect(environment.protected)
        #expect(environment.ssh.hostKeyChecking == .strict)
        #expect(environment.secrets.map(\.name).sorted() == ["database_url", "redis_password", "slack_webhook"])
    }

    @Test("production-rollout keeps the reference gates: canary batches, p95 < 500ms, error rate < 1% measured on each batch's own hosts, rollback")
    func rolloutShape() throws {
        let runbook = try #require(loader.loadRunbook(path: loader.runbookPath("production-rollout")).value)
        #expect(runbook.strategy.batches == [.count(1), .percent(50), .percent(100)])
        #expect(runbook.onFailure == .rollback)
        let thresholds = runbook.steps.compactMap { step -> [String]? in
            if let b = step.kind.as(BenchmarkStep.self) { return b.thresholds.map(\.condition.source) }
            return nil
        }.flatMap { $0 }
        #expect(thresholds == ["p95 < 500ms", "error_rate < 1%"])
        // Behind the front door a slow canary is one host of five; the gate loads the batch's hosts.
        let targets = runbook.steps.compactMap { $0.kind.as(BenchmarkStep.self)?.targets }
        #expect(targets == [.batch])
    }

    @Test("values keep their source position")
    func positions() throws {
        let runbook = try #require(loader.loadRunbook(path: loader.runbookPath("production-rollout")).value)
        let backup = try #require(runbook.steps.first)
        #expect(backup.id == "backup")
        #expect(backup.location.file.hasSuffix("Runbooks/production-rollout.yml"))
        #expect(backup.location.line > 1 && backup.location.column == 5)
    }
}
