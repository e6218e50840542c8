import Foundation

/// Something measured or checked during a run: a health result, a benchmark, SQL rows, a backup.
public struct MeasurementRecord: Sendable, Hashable, Codable {
    public enum Outcome: String, Sendable, Hashable, Codable, CaseIterable {
        case passed, failed, inconclusive
        /// The check itself could not run (connection refused, query error).
        case error
    }

    /// Assigned by the store on `recordMeasurement`; 0 before that.
    public var id: Int
    public var runId: String
    /// The step that took it, when there is one.
    public var stepSequence: Int?
    public var host: String?
    /// `health`, `benchmark`, `sql`, `metric`, `probe`, `backup`, `gate`…
    public var kind: String
    /// What was measured: `p95`, `/api/health`, `sessions columns`…
    public var name: String
    /// Nil for plain evidence that is not checked (a backup's path and size).
    public var outcome: Outcome?
    /// The expectation as written in the runbook (`p95 < 500ms`).
    public var expectation: String?
    public var value: Double?
    /// Unit of `value` (`ms`, `%`, `bytes`, `req/s`); nil when dimensionless.
    public var unit: String?
    /// Details as JSON: histograms, rows, response excerpts, backup path/size/sha256.
    public var payloadJSON: String?
    public var recordedAt: Date

    public init(
        id: Int = 0, runId: String, stepSequence: Int? = nil, host: String? = nil, kind: String, name: String,
        outcome: Outcome? = nil, expectation: String? = nil, value: Double? = nil, unit: String? = nil,
        payloadJSON: String? = nil, recordedAt: Date
    ) {
        self.id = id
        self.runId = runId
        self.stepSequence = stepSequence
        self.host = host
        self.kind = kind
        self.name = name
        self.outcome = outcome
        self.expectation = expectation
        self.value = value
        self.unit = unit
        self.payloadJSON = payloadJSON
        self.recordedAt = recordedAt
    }
}
