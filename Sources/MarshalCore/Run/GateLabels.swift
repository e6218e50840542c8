import Foundation

/// Puts a gate's `label:` (or a threshold's entry in `labels:`) into the payload of the
/// measurements it produced, so the journal keeps what each one measures in words.
enum GateLabels {
    static func apply(_ step: Step, to measurements: [StepOutcome.Measurement]) -> [StepOutcome.Measurement] {
        measurements.map { m in
            guard let label = label(step, for: m), !label.isEmpty else { return m }
            var labelled = m
            labelled.payloadJSON = merge(label, into: m.payloadJSON)
            return labelled
        }
    }

    static func label(_ step: Step, for m: StepOutcome.Measurement) -> String? {
        if let b = step.kind.as(BenchmarkStep.self), m.kind == .threshold { return b.labels[m.name] }
        // A soak's gates are labelled by SoakRunner on what they measured; the soak's own rows
        // (the time of each check) carry no figure a label could name.
        if step.kind.is(SoakStep.self) { return nil }
        switch m.kind {
        case .benchmark, .backup, .notify: return nil
        default: return step.label
        }
    }

    /// `{"label": …}` added to a JSON object payload (or as the whole payload when there is none).
    static func merge(_ label: String, into payload: String?) -> String {
        var object: [String: Any] = [:]
        if let payload {
            guard let existing = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else { return payload }
            object = existing
        }
        object["label"] = label
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return payload ?? "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
