import Foundation
import MarshalCore
@testable import MarshalReport
import MarshalTestSupport
import Testing

/// For random journals, the document's counts are the journal's and every gate evaluation is in
/// it exactly once: nothing merged by name, nothing dropped.
@Suite("Results document — random journals")
struct ReportPropertyTests {
    let f = ReportFixtures()

    struct Journal {
        var steps: [StepRecord] = []
        var measurements: [MeasurementRecord] = []
    }

    func journal(_ rng: inout SplitMix64) -> Journal {
        var j = Journal()
        let kinds = MeasurementKind.allCases.filter(\.isGate).map(\.rawValue).sorted()
        let hosts: [String?] = [nil, "web1", "web2", "db1"]
        let names = ["p95", "error_rate", "value", "status"]
        for sequence in 1...(1 + rng.below(12)) {
            let statuses: [StepRecord.Status] = [.succeeded, .failed, .ignoredFailure, .skipped, .timedOut, .inconclusive, .started]
            let phase: StepRecord.Phase = rng.below(6) == 0 ? .undo : .main
            j.steps.append(f.step(sequence, id: "s\(rng.below(3))", name: "step \(rng.below(3))", batch: rng.below(3) == 0 ? nil : 1 + rng.below(3),
                                  host: hosts[rng.below(hosts.count)], status: statuses[rng.below(statuses.count)], kind: "shell"))
            j.steps[j.steps.count - 1].phase = phase
            if rng.below(4) == 0 { j.measurements.append(f.benchmark("r", sequence: sequence, f.load(p95: 0.01 * Double(1 + rng.below(50)), count: 10 + rng.below(100)))) }
            for _ in 0..<rng.below(5) {
                let outcomes = MeasurementRecord.Outcome.allCases
                // Repeated names on purpose: the same metric in several steps must never merge.
                let token = "g\(j.measurements.count)x\(rng.below(1000))"
                let kind = kinds[rng.below(kinds.count)]
                let valued = rng.below(4) != 0
                j.measurements.append(MeasurementRecord(
                    runId: "r", stepSequence: rng.below(8) == 0 ? nil : sequence, host: hosts[rng.below(hosts.count)], kind: kind,
                    name: "\(names[rng.below(names.count)]) \(token)", outcome: outcomes[rng.below(outcomes.count)],
                    expectation: ["value < 500ms", "value > 70%", "value >= 2", "status in [200]", "value == \"v2\""][rng.below(5)],
                    value: valued ? Double(rng.below(1000)) / 100 : nil, unit: valued ? [nil, "s", "ratio"][rng.below(3)] : nil, recordedAt: f.t0))
            }
            if rng.below(5) == 0 {
                j.measurements.append(MeasurementRecord(runId: "r", stepSequence: sequence, kind: "backup", name: "/b/\(sequence).dump", outcome: .passed,
                                                        value: 1234, unit: "bytes", payloadJSON: #"{"path":"/b/x","sha256":"ab"}"#, recordedAt: f.t0))
            }
        }
        return j
    }

    @Test("300 random journals: counts equal the journal's, each gate evaluation appears once in the data and once in the text")
    func countsAndCoverage() throws {
        for seed in UInt64(1)...300 {
            var rng = SplitMix64(state: seed)
            let j = journal(&rng)
            let input = ReportBuilder.Input(run: f.run("r", status: [.succeeded, .failed, .rolledBack][rng.below(3)]), steps: j.steps, measurements: j.measurements)
            let data = ReportBuilder.build(input)
            let gates = j.measurements.filter { $0.outcome != nil && $0.kind != "backup" }
            let stepFor = Dictionary(j.steps.map { ($0.sequence, $0) }, uniquingKeysWith: { _, b in b })
            func ignored(_ m: MeasurementRecord) -> Bool { m.stepSequence.flatMap { stepFor[$0] }?.status == .ignoredFailure }
            let c = data.counts
            #expect(c.gates == gates.count, "seed \(seed)")
            #expect(c.passed == gates.filter { $0.outcome == .passed }.count, "seed \(seed)")
            #expect(c.failed == gates.filter { $0.outcome == .failed }.count, "seed \(seed)")
            #expect(c.ignored == gates.filter { $0.outcome == .failed && ignored($0) }.count, "seed \(seed)")
            #expect(c.inconclusive == gates.filter { $0.outcome == .inconclusive }.count, "seed \(seed)")
            #expect(c.errors == gates.filter { $0.outcome == .error }.count, "seed \(seed)")
            let main = j.steps.filter { $0.phase == .main }
            #expect(c.stepRuns == main.count && c.stepsSucceeded == main.filter { $0.status == .succeeded }.count, "seed \(seed)")
            #expect(c.stepsFailed == main.filter { [.failed, .timedOut].contains($0.status) }.count, "seed \(seed)")
            #expect(c.stepsIgnored == main.filter { $0.status == .ignoredFailure }.count, "seed \(seed)")
            #expect(c.stepsSucceeded + c.stepsFailed + c.stepsIgnored + c.stepsSkipped + c.stepsInconclusive + c.stepsUnfinished == c.stepRuns)
            #expect(data.gates.map(\.measurement) .sorted { $0.name < $1.name } == gates.sorted { $0.name < $1.name }, "seed \(seed)")
            #expect(data.gateGroups.reduce(0) { $0 + $1.rows.count } == gates.count)

            let text = try f.render(input)
            // The list every count comes from holds each evaluation once; a load test's section
            // shows its own thresholds again, and nothing else anywhere repeats a gate.
            let start = try #require(text.range(of: "## Gate evaluations"))
            let end = text.range(of: "\n## ", range: start.upperBound..<text.endIndex)?.lowerBound ?? text.endIndex
            let list = String(text[start.upperBound..<end]), rest = String(text[..<start.lowerBound]) + String(text[end...])
            for g in gates {
                let token = String(g.name.split(separator: " ").last!) + " |"
                #expect(list.components(separatedBy: token).count - 1 == 1, "seed \(seed): \(g.name) must appear exactly once")
                let elsewhere = rest.components(separatedBy: token).count - 1
                let hasSection = g.kind == "threshold" && j.measurements.contains { $0.kind == "benchmark" && $0.stepSequence == g.stepSequence && g.stepSequence != nil }
                #expect(elsewhere == (hasSection ? 1 : 0), "seed \(seed): \(g.name) outside the list")
            }
            var summary = "\(c.gates) gate evaluation\(c.gates == 1 ? "" : "s"): \(c.passed) passed, \(c.failed) failed"
            if c.ignored > 0 { summary += " (\(c.ignored) of them ignored under ignore_failure)" }
            #expect(gates.isEmpty || text.contains(summary), "seed \(seed)")
            let anyFailure = c.failed + c.errors + c.stepsFailed + c.stepsIgnored > 0 || main.contains { $0.status == .inconclusive }
            #expect(!(anyFailure && text.contains("Nothing failed")), "seed \(seed)")
        }
    }
}
