import Foundation

/// The run a gate compares with: `baseline.<step id>.<metric>` in an expectation is that run's
/// evidence of the step with that id (`baseline.load.p95`). The baseline is the newest succeeded
/// run of the same runbook on the same environment (`last-success`), or the run `--baseline`
/// names. No baseline, or no such figure in it, is no data: the gate is inconclusive, never passed.
public struct Baseline: Sendable {
    /// One finished step of the baseline run, with its evidence.
    public struct Entry: Sendable {
        public var host: String?
        public var batch: Int?
        public var evidence: ExprValue
    }

    /// nil when there is no baseline run.
    public var runId: String?
    /// Which run it is, or why there is none, in words for the gate's message.
    public var description: String
    var entries: [String: [Entry]] = [:]

    public static let root = "baseline"

    public static func none(_ reason: String) -> Baseline { Baseline(runId: nil, description: reason) }

    /// The baseline from a run's journaled steps: each succeeded main step with an id, by id.
    public static func from(run: RunRecord, steps: [StepRecord]) -> Baseline {
        var baseline = Baseline(runId: run.id, description: "baseline run \(run.id) (\(run.runbook) on \(run.environment), \(run.status.rawValue.replacingOccurrences(of: "_", with: " ")))")
        for step in steps where step.phase == .main && step.status == .succeeded {
            guard let id = step.stepId, let json = step.registeredJSON, let evidence = ExprValue.fromJSON(Array(json.utf8)) else { continue }
            baseline.entries[id, default: []].append(Entry(host: step.host, batch: step.batch, evidence: evidence))
        }
        return baseline
    }

    /// `reference`: a run id (or prefix, or `last`), or nil / `last-success` for the newest
    /// succeeded run of `runbook` on `environment` other than `excluding`.
    public static func resolve(reference: String?, runbook: String, environment: String, excluding: String?,
                               journal: any JournalStore) async -> Baseline {
        do {
            let run: RunRecord
            if let reference, reference != "last-success" {
                run = try await journal.run(id: reference, environment: nil)
            } else if let found = try await journal.lastSuccessfulRun(environment: environment, runbook: runbook, excluding: excluding) {
                run = found
            } else {
                return .none("no baseline: the journal has no succeeded run of '\(runbook)' on \(environment) (last-success)")
            }
            return from(run: run, steps: try await journal.steps(runId: run.id))
        } catch {
            return .none("no baseline: \(reference.map { "run '\($0)'" } ?? "the last succeeded run") could not be read from the journal (\(error))")
        }
    }

    /// `baseline.<id>.<path>` for a gate on `host` in `batch`: the baseline's figure from the same
    /// host and batch when it has one, else from the same host, the same batch, or its first.
    public func value(of name: String, host: String?, batch: Int?) -> ExprValue? {
        let path = name.split(separator: ".").map(String.init)
        guard path.count >= 3, path[0] == Self.root, let candidates = entries[path[1]] else { return nil }
        let ordered = candidates.filter { $0.host == host && $0.batch == batch } + candidates.filter { $0.host == host }
            + candidates.filter { $0.batch == batch } + candidates
        for entry in ordered {
            var current: ExprValue? = entry.evidence
            for key in path.dropFirst(2) {
                switch current {
                case .object(let object)?: current = object[key]
                case .array(let items)?: current = Int(key).flatMap { items.indices.contains($0) ? items[$0] : nil }
                default: current = nil
                }
            }
            if let current, current != .null { return current }
        }
        return nil
    }

    /// Why `baseline.<id>.<path>` has no value, for the gate's message.
    public func whyNoData(_ name: String) -> String {
        guard runId != nil else { return description }
        let path = name.split(separator: ".").map(String.init)
        if path.count >= 2, entries[path[1]] == nil {
            return "\(description) has no succeeded step with id '\(path[1])'"
        }
        return "\(description) has no figure '\(path.dropFirst(2).joined(separator: "."))' for step '\(path.count > 1 ? path[1] : "")'"
    }
}
