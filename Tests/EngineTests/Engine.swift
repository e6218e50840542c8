import Foundation
import MarshalCore
import MarshalLoading

/// One engine under test: the real Orchestrator on fake hosts, a fake HTTP client, an in-memory
/// journal and a manual clock. Runbooks and environments are YAML, decoded by the real loader.
struct Engine {
    let clock = ManualClock()
    let hosts = FakeHosts()
    let http = FakeHTTP()
    let events = EventLog()
    let journal: MemoryJournal
    var files = FakeFiles()
    var lockLease: Duration = .seconds(3600)

    init() { journal = MemoryJournal(clock: clock) }

    /// Five web hosts and a database host; `base_url` per web host.
    static let environment = """
        version: 1
        environment: test
        ssh: { user: deploy, agent: true }
        hosts:
          web1: { address: 10.0.0.1, roles: [web], vars: { base_url: "http://web1.test" } }
          web2: { address: 10.0.0.2, roles: [web], vars: { base_url: "http://web2.test" } }
          web3: { address: 10.0.0.3, roles: [web], vars: { base_url: "http://web3.test" } }
          web4: { address: 10.0.0.4, roles: [web], vars: { base_url: "http://web4.test" } }
          web5: { address: 10.0.0.5, roles: [web], vars: { base_url: "http://web5.test" } }
          db1: { address: 10.0.0.9, roles: [db] }
        vars:
          base_url: "http://lb.test"
        """

    var services: RunServices {
        RunServices(connector: hosts, journal: journal, renderer: TemplateRenderer(), observer: events, clock: clock, files: files,
                    gates: HTTPGateRunner(http: http, load: NoLoadGenerator()))
    }

    /// A request for `runbook` (YAML text) on the test environment.
    func request(_ runbook: String, runId: String = "run-1", limit: [String]? = nil, approvals: Set<String> = [],
                 kind: RunRecord.Kind = .rollout, parent: String? = nil) throws -> RunRequest {
        let loader = Loader(root: "/engine")
        let loadedRunbook = loader.loadRunbook(path: "/engine/Runbooks/test.yml", text: runbook)
        let loadedEnvironment = loader.loadEnvironment(path: "/engine/Environments/test.yml", text: Self.environment)
        let problems = (loadedRunbook.diagnostics + loadedEnvironment.diagnostics).filter { $0.severity == .error }
        guard problems.isEmpty, let book = loadedRunbook.value, let environment = loadedEnvironment.value else {
            throw EngineTestError.invalidFixture(problems.map { "\($0)" })
        }
        let checked = loader.check(book, environment: environment).filter { $0.severity == .error }
        if !checked.isEmpty { throw EngineTestError.invalidFixture(checked.map { "\($0)" }) }
        var request = RunRequest(runId: runId, runbook: book, environment: environment, params: [:], secrets: [:],
                                 processEnvironment: ["HOME": "/home/tester", "USER": "tester"], limit: limit,
                                 operatorName: "tester@engine", pid: 4242, approvals: approvals, kind: kind, parentRunId: parent,
                                 startedAt: clock.date, lockLease: lockLease)
        request.documents = []
        return request
    }

    /// Runs a runbook to its end; returns the result and what the journal holds.
    func run(_ runbook: String, runId: String = "run-1", limit: [String]? = nil, approvals: Set<String> = [],
             prior: PriorProgress? = nil, parent: String? = nil) async throws -> Outcome {
        var request = try request(runbook, runId: runId, limit: limit, approvals: approvals,
                                  kind: prior == nil ? .rollout : .resume, parent: parent)
        request.prior = prior
        let result = try await Orchestrator(services: services).run(request)
        return Outcome(result: result, steps: try await journal.steps(runId: runId),
                       measurements: try await journal.measurements(runId: runId),
                       run: try await journal.run(id: runId, environment: nil))
    }

    struct Outcome {
        var result: RunResult
        var steps: [StepRecord]
        var measurements: [MeasurementRecord]
        var run: RunRecord

        /// Journaled step records of the main phase named `name`, by host.
        func records(_ name: String, phase: StepRecord.Phase = .main) -> [StepRecord] {
            steps.filter { $0.name == name && $0.phase == phase }
        }

        /// Hosts where the step named `name` finished with `status`, sorted.
        func hosts(_ name: String, _ status: StepRecord.Status, phase: StepRecord.Phase = .main) -> [String] {
            records(name, phase: phase).filter { $0.status == status }.compactMap(\.host).sorted()
        }
    }
}

enum EngineTestError: Error {
    case invalidFixture([String])
}
