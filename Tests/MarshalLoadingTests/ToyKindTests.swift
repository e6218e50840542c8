import Foundation
import MarshalCore
import Testing
@testable import MarshalLoading

/// A new step kind is one file (`ToyKind/EchoStep.swift`) plus one registry line (`kinds` below):
/// with nothing else changed, the loader decodes it with positions, validation checks its
/// templates, the planner describes it and the executor runs it.
@Suite("A step kind added as a plug-in")
struct ToyKindTests {
    /// The registry line.
    static let kinds = StepKindRegistry.builtIn.adding(EchoStep.self)

    static let environment = """
        version: 1
        environment: toy
        hosts:
          web1: { address: 127.0.0.1, roles: [web] }
          web2: { address: 127.0.0.1, roles: [web] }
        """

    func load(_ runbook: String, kinds: StepKindRegistry = ToyKindTests.kinds) -> (Loader.Loaded<Runbook>, Environment) {
        let loader = Loader(root: Repo.root, kinds: kinds)
        let environment = loader.loadEnvironment(path: Repo.temporaryFile(Self.environment, name: "toy.yml")).value!
        return (loader.loadRunbook(path: Repo.temporaryFile(runbook, name: "toy-runbook.yml")), environment)
    }

    static let runbook = """
        version: 1
        runbook: toy
        params:
          who: { type: string, default: world }
        targets: web
        steps:
          - id: greet
            echo: { text: "hello {{ params.who }}", times: 2 }
          - echo: short form
        """

    @Test("decoded from YAML through the registry: mapping and short form, default name from the kind")
    func decodes() throws {
        let (loaded, _) = load(Self.runbook)
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        let steps = try #require(loaded.value).steps
        let greet = try #require(steps[0].kind.as(EchoStep.self))
        #expect(greet.text.source == "hello {{ params.who }}")
        #expect(greet.times == 2)
        #expect(steps[1].kind.as(EchoStep.self)?.times == 1)
        #expect(steps[1].name == "echo")
    }

    @Test("its own decoding errors carry file:line:column; unknown keys are named by the loader from its declaration")
    func positionedErrors() {
        let (loaded, _) = load("""
            version: 1
            runbook: toy
            targets: web
            steps:
              - echo: { text: hi, times: 9, loud: true }
            """)
        let messages = loaded.diagnostics.map { "\($0.location.line):\($0.location.column) \($0.message)" }
        #expect(messages.contains { $0.hasPrefix("5:23 ") && $0.contains("'times' above 3 is too loud") }, "\(messages)")
        #expect(messages.contains { $0.hasPrefix("5:33 ") && $0.contains("unknown key 'loud'") }, "\(messages)")
    }

    @Test("without its registry line the kind does not exist: the loader names the known kinds")
    func needsRegistryLine() {
        let (loaded, _) = load(Self.runbook, kinds: .builtIn)
        #expect(loaded.diagnostics.contains { $0.message.contains("unknown step kind 'echo'") })
    }

    @Test("validation checks the names its templates use")
    func validates() throws {
        let (loaded, environment) = load(Self.runbook.replacingOccurrences(of: "params.who", with: "params.whom"))
        let runbook = try #require(loaded.value)
        let diagnostics = Loader(root: Repo.root, kinds: Self.kinds).check(runbook, environment: environment)
        #expect(diagnostics.contains { $0.message.contains("whom") && $0.location.line == 8 }, "\(diagnostics)")
    }

    @Test("the planner describes it once per batch from this machine, rendered")
    func plans() throws {
        let (loaded, environment) = load(Self.runbook)
        let runbook = try #require(loaded.value)
        let plan = try Planner(renderer: TemplateRenderer()).plan(runbook, environment: environment, params: ["who": .string("plan")], secrets: [:])
        let step = try #require(plan.batches.first?.steps.first)
        #expect(step.kind == "echo")
        #expect(step.scope == "once-per-batch")
        #expect(step.actions.map(\.detail) == ["echo hello plan ×2"])
    }

    @Test("the executor runs it through the plug-in and keeps its evidence")
    func runs() async throws {
        let (loaded, environment) = load(Self.runbook)
        let step = try #require(loaded.value?.steps.first)
        let executor = StepExecutor(connections: HostConnections(connector: NoConnector(), environment: environment, secrets: [:],
                                                                 processEnvironment: [:]), gates: nil)
        let context = StepContext(runId: "r1", renderer: TemplateRenderer(), scope: TemplateScope(params: ["who": .string("run")]),
                                  masker: SecretMasker([]), approvals: [], batch: 1, clock: StillClock(), files: NoFiles())
        let outcome = await executor.execute(step, host: nil, context: context)
        #expect(outcome.status == .succeeded)
        #expect(outcome.evidence?["echoed"] == .string("hello run hello run"))
    }
}

/// The toy kind never waits: time stands still.
private struct StillClock: MarshalCore.Clock {
    let now = ContinuousClock.now
    var date: Date { Date(timeIntervalSince1970: 1_800_000_000) }
    func sleep(until deadline: ContinuousClock.Instant) async throws {}
}

/// The toy kind reads no local file.
private struct NoFiles: LocalFiles {
    func isReadableFile(atPath path: String) -> Bool { false }
}

/// The toy kind never connects to a host.
private struct NoConnector: Connector {
    func connect(_ endpoint: HostEndpoint) async throws(TransportError) -> any RemoteExecutor {
        throw TransportError.handshakeFailed(host: endpoint.name, reason: "the toy test opens no connection")
    }
}
