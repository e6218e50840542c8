import Foundation
import GRDB
import MarshalCore

// Rows to records. Enum columns hold raw values; one this version does not know is reported, not guessed.
extension SQLiteJournal {
    func decodeRun(_ row: Row) throws -> RunRecord {
        let id: String = row["id"]
        return RunRecord(
            id: id,
            runbook: row["runbook"],
            runbookPath: row["runbookPath"],
            environment: row["environment"],
            params: try RunParamsJSON.decode(row["params"], run: id, journal: location),
            inputsJSON: row["inputs"],
            status: try value(row["status"], "status of run \(id)"),
            startedAt: row["startedAt"],
            endedAt: row["endedAt"],
            operatorName: row["operator"],
            pid: row["pid"],
            kind: try value(row["kind"], "kind of run \(id)"),
            parentRunId: row["parentRunId"],
            failureSummary: row["failure"]
        )
    }

    func decodeStep(_ row: Row) throws -> StepRecord {
        let runId: String = row["runId"]
        let sequence: Int = row["sequence"]
        let what = "step #\(sequence) of run \(runId)"
        return StepRecord(
            runId: runId,
            sequence: sequence,
            stepIndex: row["stepIndex"],
            stepId: row["stepId"],
            name: row["name"],
            kind: row["kind"],
            phase: try value(row["phase"], "phase of \(what)"),
            host: row["host"],
            batch: row["batch"],
            status: try value(row["status"], "status of \(what)"),
            startedAt: row["startedAt"],
            endedAt: row["endedAt"],
            exitStatus: row["exitStatus"],
            signal: row["signal"],
            command: row["command"],
            stdout: row["stdout"],
            stderr: row["stderr"],
            registeredJSON: row["registered"],
            attempts: row["attempts"],
            message: row["message"]
        )
    }

    func decodeMeasurement(_ row: Row) throws -> MeasurementRecord {
        let id: Int = row["id"]
        let outcome: String? = row["outcome"]
        return MeasurementRecord(
            id: id,
            runId: row["runId"],
            stepSequence: row["stepSequence"],
            host: row["host"],
            kind: row["kind"],
            name: row["name"],
            outcome: try outcome.map { try value($0, "outcome of measurement \(id)") },
            expectation: row["expectation"],
            value: row["value"],
            unit: row["unit"],
            payloadJSON: row["payload"],
            recordedAt: row["recordedAt"]
        )
    }

    func decodeLock(_ row: Row) throws -> LockRecord {
        LockRecord(
            environment: row["environment"],
            holder: row["holder"],
            pid: row["pid"],
            runId: row["runId"],
            since: row["since"],
            leaseExpiresAt: row["leaseExpiresAt"],
            message: row["message"]
        )
    }

    private func value<E: RawRepresentable>(_ raw: String, _ what: String) throws -> E where E.RawValue == String {
        guard let value = E(rawValue: raw) else {
            throw JournalError.unreadableRecord(journal: location, detail: "unknown \(what): \(raw)")
        }
        return value
    }
}
