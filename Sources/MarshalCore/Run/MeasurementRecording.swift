import Foundation

extension Orchestrator {
    /// Journals a step's measurements; returns why one could not be (then the step fails), nil when all were.
    static func record(_ measurements: [StepOutcome.Measurement], runId: String, sequence: Int, host: String?,
                       journal: any JournalStore, masker: SecretMasker, at date: Date) async -> String? {
        for measurement in measurements {
            do {
                try await journal.recordMeasurement(MeasurementRecord(
                    runId: runId, stepSequence: sequence, host: measurement.host ?? host, kind: measurement.kind.rawValue,
                    name: masker.mask(measurement.name), outcome: measurement.outcome, expectation: measurement.expectation,
                    value: measurement.value, unit: measurement.unit, payloadJSON: measurement.payloadJSON.map(masker.mask),
                    recordedAt: date))
            } catch {
                return masker.mask("the measurement \(measurement.name) could not be recorded in the journal (\(error)); the step fails rather than pass without its evidence")
            }
        }
        return nil
    }
}
