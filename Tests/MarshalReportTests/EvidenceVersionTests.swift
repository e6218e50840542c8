import Foundation
import MarshalCore
import MarshalReport
import Testing

/// Payloads as the runners wrote them by hand before the evidence types (version 1, no `v`) still
/// read, and what the runners write now carries its version.
@Suite("Typed evidence, old and new")
struct EvidenceVersionTests {
    @Test("version 1 payloads, byte for byte as the old writers produced them, decode into the typed evidence")
    func oldPayloadsRead() throws {
        // HTTPCheck and SoakRunner used ConfigValue.record(...).jsonText; SQLRunner, DatabaseRunners
        // and the notify webhook built the text by hand.
        let http = try #require(Evidence.decode(HTTPAttemptEvidence.self, from: #"{"at":1.25,"attempt":2,"message":"status 503, expected 200","status":503}"#))
        #expect(http.version == nil && http.attempt == 2 && http.at == 1.25 && http.status == 503)
        let refused = try #require(Evidence.decode(HTTPAttemptEvidence.self, from: #"{"at":0,"attempt":1,"message":"refused","status":null}"#))
        #expect(refused.status == nil && refused.message == "refused")
        let soak = try #require(Evidence.decode(SoakRoundEvidence.self, from: #"{"host":null,"message":"200 in 3 ms","round":4}"#))
        #expect(soak.round == 4 && soak.host == nil)
        let sql = try #require(Evidence.decode(SQLResultEvidence.self, from: #"{"columns":["n","name"],"rows":[["5",null]]}"#))
        #expect(sql.columns == ["n", "name"] && sql.rows == [["5", nil]] && sql.firstCell == "5")
        let backup = try #require(Evidence.decode(BackupEvidence.self, from: #"{"path":"/b/x.dump","sha256":"9f86d0"}"#))
        #expect(backup == BackupEvidence(path: "/b/x.dump", sha256: "9f86d0").withVersion(nil))
        let notify = try #require(Evidence.decode(NotifyEvidence.self, from: #"{"message":"sent"}"#))
        #expect(notify.message == "sent")
        #expect(Evidence.label(of: #"{"label":"p95 latency"}"#) == "p95 latency")
    }

    @Test("what the runners write now says its version and reads back the same")
    func newPayloadsRoundTrip() throws {
        let written = Evidence.json(HTTPAttemptEvidence(attempt: 3, at: 2.5, status: 200, message: "200 in 4 ms"))
        #expect(written == #"{"at":2.5,"attempt":3,"message":"200 in 4 ms","status":200,"v":2}"#)
        #expect(Evidence.decode(HTTPAttemptEvidence.self, from: written) == HTTPAttemptEvidence(attempt: 3, at: 2.5, status: 200, message: "200 in 4 ms"))
        let sql = Evidence.json(SQLResultEvidence(columns: ["n"], rows: [[nil]]))
        #expect(sql == #"{"columns":["n"],"rows":[[null]],"v":2}"#)
    }

    @Test("the report reads a journal written with version 1 payloads: HTTP status, SQL value and backup digest")
    func reportOfOldJournal() throws {
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        let run = RunRecord(id: "old-1", runbook: "rollout", runbookPath: "Runbooks/rollout.yml", environment: "staging",
                            status: .succeeded, startedAt: t0, endedAt: t0.addingTimeInterval(60), operatorName: "op@ci", pid: 1)
        let steps = [
            StepRecord(runId: "old-1", sequence: 1, stepIndex: 1, name: "healthy", kind: "health", phase: .main, host: "web1",
                       status: .succeeded, startedAt: t0, endedAt: t0),
            StepRecord(runId: "old-1", sequence: 2, stepIndex: 2, name: "version", kind: "sql", phase: .main, host: "db1",
                       status: .succeeded, startedAt: t0, endedAt: t0),
        ]
        let measurements = [
            MeasurementRecord(runId: "old-1", stepSequence: 1, host: "web1", kind: "health", name: "GET http://web1/health", outcome: .passed,
                              expectation: "status in [200]", value: 0.004, unit: "s",
                              payloadJSON: #"{"at":0,"attempt":1,"message":"200 in 4 ms","status":200}"#, recordedAt: t0),
            MeasurementRecord(runId: "old-1", stepSequence: 2, host: "db1", kind: "sql", name: "select version", outcome: .passed,
                              expectation: "value == \"v41\"", payloadJSON: #"{"columns":["version"],"rows":[["v41"]]}"#, recordedAt: t0),
            MeasurementRecord(runId: "old-1", stepSequence: 2, host: "db1", kind: "backup", name: "/b/x.dump", outcome: .passed,
                              value: 2048, unit: "bytes", payloadJSON: #"{"path":"/b/x.dump","sha256":"9f86d0"}"#, recordedAt: t0),
        ]
        let gates = GateEvaluation.all(measurements, steps: steps)
        #expect(gates.map(\.achieved) == ["HTTP 200 in 4.00 ms", "v41"])
        let data = ReportBuilder.build(ReportBuilder.Input(run: run, steps: steps, measurements: measurements))
        #expect(data.evidence.contains { $0.contains("/b/x.dump") && $0.contains("sha256 9f86d0") }, "\(data.evidence)")
    }
}

extension BackupEvidence {
    func withVersion(_ version: Int?) -> BackupEvidence {
        var copy = self
        copy.version = version
        return copy
    }
}
