/// What a measurement is. Runners write it, the report, JUnit and `show` branch on it; the journal
/// stores its raw value (`MeasurementRecord.kind`), so a kind unknown to this build still reads.
public enum MeasurementKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// One attempt of a `health` or `http` check (`HTTPAttemptEvidence`).
    case health, http
    /// A query's result held to its `expect` (`SQLResultEvidence`).
    case sql
    /// A command's output held to its `expect` (label only).
    case probe
    /// A Prometheus query held to its `expect` (label only).
    case metric
    /// One gate evaluation in one round of a soak (`SoakRoundEvidence`); the gate's own
    /// measurements follow it.
    case soak
    /// One threshold of a load test (label only).
    case threshold
    /// A load test's whole result (`LoadResult`).
    case benchmark
    /// A query's time (payload: `round_trip`, `execution_time`, `planning_time` in seconds):
    /// evidence, not a gate (the sql step's own `expect` is the gate).
    case queryTime = "query_time"
    /// A backup's file (`BackupEvidence`): evidence, not a gate.
    case backup
    /// A webhook sent for a run event (`NotifyEvidence`): evidence, not a gate.
    case notify
    /// Journals written before the kinds were typed used this for a bare gate.
    case gate

    /// Holds something to an expectation (the report's gate evaluations); `benchmark`, `backup`
    /// and `notify` are evidence.
    public var isGate: Bool {
        switch self {
        case .threshold, .sql, .metric, .probe, .health, .http, .soak, .gate: true
        case .benchmark, .backup, .notify, .queryTime: false
        }
    }
}

extension MeasurementRecord {
    /// The kind, when this build knows it.
    public var measurementKind: MeasurementKind? { MeasurementKind(rawValue: kind) }
}
