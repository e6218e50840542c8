import Foundation

/// `soak`: re-evaluates its gates every `interval` for `duration` after a switch and fails at the
/// first breach, so `on_failure: rollback` fires; every evaluation is journaled as a measurement.
struct SoakRunner {
    var executor: StepExecutor

    /// `host`: the soak's own host when it runs on hosts (`on:`); its gates without `on:` use it.
    func run(_ soak: SoakStep, host soakHost: HostSpec?, context: StepContext) async -> StepOutcome {
        let clock = context.clock
        let start = clock.now
        let end = start + soak.duration
        var round = 0
        var measurements: [StepOutcome.Measurement] = []
        while clock.now < end {
            round += 1
            let roundStart = clock.now
            for gate in soak.gates {
                let hosts: [HostSpec?] = gate.on.map { $0.resolve(in: executor.connections.environment) } ?? [soakHost]
                for host in hosts {
                    let outcome = await executor.execute(gate, host: host, context: context)
                    let at = (clock.now - start).seconds
                    measurements.append(.init(kind: .soak, name: gate.name, outcome: outcome.status == .succeeded ? .passed : (outcome.status == .inconclusive ? .inconclusive : .failed),
                                              expectation: nil, value: at, unit: "s",
                                              payloadJSON: Evidence.json(SoakRoundEvidence(round: round, host: host?.name, message: outcome.message ?? ""))))
                    // The gate's label belongs to what it measured, not to the soak's own row
                    // (whose value is the time of the check).
                    measurements += GateLabels.apply(gate, to: outcome.measurements)
                    if outcome.status.isFailure || outcome.status == .paused {
                        return StepOutcome(status: outcome.status == .paused ? .paused : .failed,
                                           message: "soak breached at \(String(format: "%.1f", at))s (round \(round)): \(gate.name)\(host.map { " on \($0.name)" } ?? ""): \(outcome.message ?? outcome.status.rawValue)",
                                           evidence: .record(["rounds": .number(Double(round)), "breached_at": .number(at)]),
                                           measurements: measurements)
                    }
                }
            }
            if Task.isCancelled { return StepOutcome(status: .failed, message: "interrupted during soak", measurements: measurements) }
            let next = roundStart + soak.interval
            if next >= end { break }
            try? await clock.sleep(until: next)
        }
        return StepOutcome(status: .succeeded,
                           message: "\(round) round\(round == 1 ? "" : "s") over \(DurationText.format(soak.duration)), every gate held",
                           evidence: .record(["rounds": .number(Double(round))]), measurements: measurements)
    }
}
