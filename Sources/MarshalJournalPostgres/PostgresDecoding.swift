import Foundation
import MarshalCore

// Rows to records. Timestamps are selected as epoch seconds (`extract(epoch …)`) and written as
// epoch seconds rounded to the millisecond, as the SQLite journal keeps them.
extension PostgresJournal {
    static func epoch(_ column: String) -> String { "extract(epoch FROM \(column))::float8 AS \(column)" }

    static let runColumns = ["id", "runbook", "runbook_path", "environment", "params", "inputs", "status", epoch("started_at"),
                             epoch("ended_at"), "operator", "pid", "kind", "parent_run_id", "failure"].joined(separator: ", ")
    static let stepColumns = ["run_id", "sequence", "step_index", "step_id", "name", "kind", "phase", "host", "batch", "status",
                              epoch("started_at"), epoch("ended_at"), "exit_status", "signal", "command", "stdout", "stderr",
                              "registered", "attempts", "message"].joined(separator: ", ")
    static let measurementColumns = ["id", "run_id", "step_sequence", "host", "kind", "name", "outcome", "expectation", "value",
                                     "unit", "payload", epoch("recorded_at")].joined(separator: ", ")
    static let lockColumns = ["environment", "holder", "pid", "run_id", epoch("since"), epoch("lease_expires_at"), "message"]
        .joined(separator: ", ")

    /// Epoch seconds to the millisecond, as text for a `to_timestamp($n::float8)` parameter.
    static func time(_ date: Date) -> String {
        String(format: "%.3f", (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    static func number(_ value: Double) -> String { String(format: "%.17g", value) }

    func decodeRun(_ row: PostgresConnection.Row) throws -> RunRecord {
        let r = Reader(row: row, journal: location)
        let id = try r.string("id")
        return RunRecord(
            id: id, runbook: try r.string("runbook"), runbookPath: try r.string("runbook_path"),
            environment: try r.string("environment"), params: try RunParamsJSON.decode(try r.string("params"), run: id, journal: location),
            inputsJSON: try r.string("inputs"), status: try r.value("status", "status of run \(id)"),
            startedAt: try r.date("started_at"), endedAt: r.optionalDate("ended_at"), operatorName: try r.string("operator"),
            pid: Int32(try r.int("pid")), kind: try r.value("kind", "kind of run \(id)"), parentRunId: r.optional("parent_run_id"),
            failureSummary: r.optional("failure"))
    }

    func decodeStep(_ row: PostgresConnection.Row) throws -> StepRecord {
        let r = Reader(row: row, journal: location)
        let runId = try r.string("run_id")
        let sequence = try r.int("sequence")
        let what = "step #\(sequence) of run \(runId)"
        return StepRecord(
            runId: runId, sequence: sequence, stepIndex: try r.int("step_index"), stepId: r.optional("step_id"),
            name: try r.string("name"), kind: try r.string("kind"), phase: try r.value("phase", "phase of \(what)"),
            host: r.optional("host"), batch: r.optional("batch")?.int, status: try r.value("status", "status of \(what)"),
            startedAt: try r.date("started_at"), endedAt: r.optionalDate("ended_at"),
            exitStatus: r.optional("exit_status")?.int.map { Int32($0) }, signal: r.optional("signal"),
            command: r.optional("command"), stdout: try r.string("stdout"), stderr: try r.string("stderr"),
            registeredJSON: r.optional("registered"), attempts: try r.int("attempts"), message: r.optional("message"))
    }

    func decodeMeasurement(_ row: PostgresConnection.Row) throws -> MeasurementRecord {
        let r = Reader(row: row, journal: location)
        let id = try r.int("id")
        return MeasurementRecord(
            id: id, runId: try r.string("run_id"), stepSequence: r.optional("step_sequence")?.int, host: r.optional("host"),
            kind: try r.string("kind"), name: try r.string("name"),
            outcome: try r.optional("outcome").map { try r.raw($0, "outcome of measurement \(id)") },
            expectation: r.optional("expectation"), value: r.optional("value")?.double, unit: r.optional("unit"),
            payloadJSON: r.optional("payload"), recordedAt: try r.date("recorded_at"))
    }

    func decodeLock(_ row: PostgresConnection.Row) throws -> LockRecord {
        let r = Reader(row: row, journal: location)
        return LockRecord(
            environment: try r.string("environment"), holder: try r.string("holder"), pid: Int32(try r.int("pid")),
            runId: try r.string("run_id"), since: try r.date("since"), leaseExpiresAt: try r.date("lease_expires_at"),
            message: r.optional("message"))
    }

    /// Typed access to a row's text values; a missing or malformed value is an unreadable record.
    private struct Reader {
        let row: PostgresConnection.Row
        let journal: String

        func optional(_ column: String) -> String? { row[column] ?? nil }

        func string(_ column: String) throws -> String {
            guard let value = optional(column) else { throw JournalError.unreadableRecord(journal: journal, detail: "\(column) is missing") }
            return value
        }

        func int(_ column: String) throws -> Int {
            guard let value = try string(column).int else { throw JournalError.unreadableRecord(journal: journal, detail: "\(column) is not a number") }
            return value
        }

        func date(_ column: String) throws -> Date {
            guard let value = optionalDate(column) else { throw JournalError.unreadableRecord(journal: journal, detail: "\(column) is not a time") }
            return value
        }

        func optionalDate(_ column: String) -> Date? {
            // Whole milliseconds counted from the reference date, so a date reads back exactly as the
            // SQLite journal gives it (and a copied run shows the same figures in both stores).
            optional(column)?.double.map { epoch in
                let milliseconds = Int64((epoch * 1000).rounded()) - Int64(Date.timeIntervalBetween1970AndReferenceDate * 1000)
                return Date(timeIntervalSinceReferenceDate: Double(milliseconds) / 1000)
            }
        }

        func value<E: RawRepresentable>(_ column: String, _ what: String) throws -> E where E.RawValue == String {
            try raw(try string(column), what)
        }

        func raw<E: RawRepresentable>(_ text: String, _ what: String) throws -> E where E.RawValue == String {
            guard let value = E(rawValue: text) else { throw JournalError.unreadableRecord(journal: journal, detail: "unknown \(what): \(text)") }
            return value
        }
    }
}

extension String {
    var int: Int? { Int(self) }
    var double: Double? { Double(self) }
}
