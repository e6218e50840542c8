import Foundation
import MarshalCore
@testable import MarshalReport
import Testing

/// `--junit`: what CI sees must match what the journal says, or a failed rollout shows green.
@Suite("JUnit gate results")
struct JUnitReportTests {
    let t0 = Date(timeIntervalSince1970: 1_790_000_000)

    func step(_ sequence: Int, _ name: String, kind: String, status: StepRecord.Status, phase: StepRecord.Phase = .main,
              host: String? = "web1", message: String? = nil, exit: Int32? = nil) -> StepRecord {
        StepRecord(runId: "r1", sequence: sequence, stepIndex: sequence, name: name, kind: kind, phase: phase, host: host, batch: 1,
                   status: status, startedAt: t0, endedAt: t0.addingTimeInterval(2), exitStatus: exit, message: message)
    }

    func gate(_ sequence: Int, _ kind: String, _ name: String, _ outcome: MeasurementRecord.Outcome, expectation: String,
              value: Double? = nil, unit: String? = nil) -> MeasurementRecord {
        MeasurementRecord(runId: "r1", stepSequence: sequence, host: "web1", kind: kind, name: name, outcome: outcome,
                          expectation: expectation, value: value, unit: unit, recordedAt: t0)
    }

    var run: RunRecord {
        RunRecord(id: "r1", runbook: "rollout", runbookPath: "Runbooks/rollout.yml", environment: "prod", status: .failed,
                  startedAt: t0, endedAt: t0.addingTimeInterval(30), operatorName: "ana@ops", pid: 1, failureSummary: "migrate failed")
    }

    @Test("A gate retried within its step is one case judged by its last attempt, with the attempts counted")
    func retriedGate() {
        let xml = JUnitReport.render(run: run, steps: [step(1, "healthy", kind: "health", status: .succeeded)], measurements: [
            gate(1, "health", "GET /api/health", .failed, expectation: "status in [200]"),
            gate(1, "health", "GET /api/health", .failed, expectation: "status in [200]"),
            gate(1, "health", "GET /api/health", .passed, expectation: "status in [200]"),
        ])
        #expect(xml.contains(#"tests="1" failures="0" errors="0" skipped="0""#))
        #expect(xml.contains(#"<property name="evaluations" value="3"/>"#))
        #expect(!xml.contains("<failure"))
    }

    @Test("A failed step with no failing gate is a failure case; a failed undo is an error case")
    func failedSteps() {
        let xml = JUnitReport.render(run: run, steps: [
            step(1, "migrate", kind: "shell", status: .failed, exit: 7),
            step(2, "cleanup", kind: "shell", status: .ignoredFailure, exit: 1),
            step(3, "Ship the release", kind: "undo:release", status: .failed, phase: .undo, message: "no previous release"),
        ], measurements: [])
        #expect(xml.contains(#"tests="2" failures="1" errors="1""#), "\(xml)")
        #expect(xml.contains(#"<testcase classname="rollout.migrate (batch 1)" name="step migrate on web1" time="2.000">"#))
        #expect(xml.contains(#"<failure message="exit status 7" type="gate"/>"#))
        #expect(xml.contains(#"<error message="undo failed: no previous release" type="error"/>"#))
        #expect(xml.contains(#"classname="rollout.undo.Ship the release (batch 1)""#))
        #expect(!xml.contains("cleanup"))
    }

    @Test("No data fails the case when it failed its step, and is skipped when the run went on")
    func inconclusive() {
        let failing = JUnitReport.render(run: run, steps: [step(1, "queue", kind: "metric", status: .failed)],
                                         measurements: [gate(1, "metric", "queue depth", .inconclusive, expectation: "value < 50")])
        #expect(failing.contains(#"<failure message="inconclusive (no data) and on_no_data fails the gate""#))
        #expect(!failing.contains("step queue"), "the step's failure is already told by its gate")
        let passing = JUnitReport.render(run: run, steps: [step(1, "queue", kind: "metric", status: .succeeded)],
                                         measurements: [gate(1, "metric", "queue depth", .inconclusive, expectation: "value < 50")])
        #expect(passing.contains(#"<skipped message="inconclusive (no data)"/>"#))
        #expect(passing.contains(#"skipped="1""#))
    }

    @Test("A failure message gives the measured figure, and text is escaped for XML")
    func escaping() {
        let xml = JUnitReport.render(run: run, steps: [step(1, "latency <gate> & \"co\"", kind: "benchmark", status: .failed)],
                                     measurements: [gate(1, "threshold", "p95", .failed, expectation: "p95 < 500ms", value: 0.601, unit: "s")])
        #expect(xml.contains(#"name="p95 on web1: p95 &lt; 500ms""#))
        #expect(xml.contains(#"<failure message="measured 601 ms; expected p95 &lt; 500ms" type="gate"/>"#))
        #expect(xml.contains("latency &lt;gate&gt; &amp; &quot;co&quot;"))
        #expect(JUnitReport.escape("a\u{1}b\nc") == "ab&#10;c")
    }
}
