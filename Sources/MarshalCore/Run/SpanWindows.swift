import Foundation

/// Gates measured over another step's span (`over: load`): sampled when that step starts and
/// again when it ends, so `delta(x)` covers exactly the span (a load test, a release).
extension Orchestrator {
    struct OpenSpan: Sendable {
        var gate: ExpandedStep
        var host: HostSpec?
        var start: Result<[String: Double], StepFailure>
        var startedAt: ContinuousClock.Instant
    }

    static func windowKey(_ gate: ExpandedStep, _ host: HostSpec?) -> String { "\(gate.ordinal)@\(host?.name ?? "-")" }

    /// Takes the first sample of every later gate measured over `expanded`'s span, on the hosts it will run on.
    func startSpans(of expanded: ExpandedStep, among steps: [ExpandedStep], batchHosts: [HostSpec], request: RunRequest,
                    baseScope: TemplateScope, executor: StepExecutor, state: State) async -> [OpenSpan] {
        let names = [expanded.step.id, expanded.step.register].compactMap { $0 }
        guard !names.isEmpty else { return [] }
        var open: [OpenSpan] = []
        for gate in steps {
            guard case .span(let id)? = gate.step.over, names.contains(id) else { continue }
            for host in hostsFor(gate.step, batchHosts: batchHosts, environment: request.environment) {
                let key = Self.windowKey(gate, host)
                state.windows[key] = nil
                state.windowProblems[key] = nil
                let context = sampleContext(gate, host: host, request: request, baseScope: baseScope, state: state)
                let start = await executor.sample(gate.step, host: host, context: context)
                open.append(OpenSpan(gate: gate, host: host, start: start, startedAt: ContinuousClock.now))
            }
        }
        return open
    }

    /// The second sample, right after the span's step; the gate reads both when it runs.
    func endSpans(_ spans: [OpenSpan], request: RunRequest, baseScope: TemplateScope, executor: StepExecutor, state: State) async {
        for span in spans {
            let key = Self.windowKey(span.gate, span.host)
            let seconds = (ContinuousClock.now - span.startedAt).seconds
            guard case .success(let first) = span.start else {
                if case .failure(let failure) = span.start { state.windowProblems[key] = "its first sample failed: \(failure.message)" }
                continue
            }
            let context = sampleContext(span.gate, host: span.host, request: request, baseScope: baseScope, state: state)
            switch await executor.sample(span.gate.step, host: span.host, context: context) {
            case .success(let last): state.windows[key] = WindowSample(start: first, end: last, seconds: seconds)
            case .failure(let failure): state.windowProblems[key] = "its last sample failed: \(failure.message)"
            }
        }
    }

    private func sampleContext(_ gate: ExpandedStep, host: HostSpec?, request: RunRequest, baseScope: TemplateScope, state: State) -> StepContext {
        StepContext(runId: request.runId, renderer: services.renderer,
                    scope: scope(for: host, expanded: gate, base: baseScope, request: request, state: state),
                    masker: SecretMasker(Array(request.secrets.values)), approvals: [], batch: nil)
    }
}
