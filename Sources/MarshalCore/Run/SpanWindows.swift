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

    /// Takes the first sample of every later gate of the batch measured over `planned`'s span, on
    /// the hosts the plan gives that gate.
    func startSpans(of planned: Plan.PlannedStep, in batch: Plan.Batch, _ session: RunSession) async -> [OpenSpan] {
        let names = [planned.expanded.step.id, planned.expanded.step.register].compactMap { $0 }
        guard !names.isEmpty else { return [] }
        var open: [OpenSpan] = []
        for gate in batch.steps {
            guard case .span(let id)? = gate.expanded.step.over, names.contains(id) else { continue }
            for host in gate.hostNames.map({ name in name.flatMap { session.request.environment.host(named: $0) } }) {
                let key = Self.windowKey(gate.expanded, host)
                session.state.windows[key] = nil
                session.state.windowProblems[key] = nil
                let start = await session.executor.sample(gate.expanded.step, host: host, context: sampleContext(gate.expanded, host: host, session))
                open.append(OpenSpan(gate: gate.expanded, host: host, start: start, startedAt: services.clock.now))
            }
        }
        return open
    }

    /// The second sample, right after the span's step; the gate reads both when it runs.
    func endSpans(_ spans: [OpenSpan], _ session: RunSession) async {
        for span in spans {
            let key = Self.windowKey(span.gate, span.host)
            let seconds = (services.clock.now - span.startedAt).seconds
            guard case .success(let first) = span.start else {
                if case .failure(let failure) = span.start { session.state.windowProblems[key] = "its first sample failed: \(failure.message)" }
                continue
            }
            switch await session.executor.sample(span.gate.step, host: span.host, context: sampleContext(span.gate, host: span.host, session)) {
            case .success(let last): session.state.windows[key] = WindowSample(start: first, end: last, seconds: seconds)
            case .failure(let failure): session.state.windowProblems[key] = "its last sample failed: \(failure.message)"
            }
        }
    }

    private func sampleContext(_ gate: ExpandedStep, host: HostSpec?, _ session: RunSession) -> StepContext {
        StepContext(runId: session.request.runId, renderer: services.renderer,
                    scope: scope(for: host, expanded: gate, base: session.baseScope, request: session.request, state: session.state),
                    masker: session.masker, approvals: [], batch: nil, clock: services.clock, files: services.files)
    }
}
