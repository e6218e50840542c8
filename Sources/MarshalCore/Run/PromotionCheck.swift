import Foundation

/// Checks a runbook's `requires:` against the journal before a run starts: for each requirement,
/// a succeeded run of that runbook on that environment, with the same values of the named params,
/// that ended within the time allowed. What is missing is said in words, one line per requirement.
public enum PromotionCheck {
    public struct Missing: Sendable, Hashable {
        public var requirement: Requirement
        /// What was required and why nothing in the journal meets it.
        public var message: String
    }

    public static func missing(_ runbook: Runbook, environment: String, params: [String: ConfigValue],
                               journal: any JournalStore) async throws -> [Missing] {
        guard !runbook.requires.isEmpty else { return [] }
        let now = try await journal.currentTime()
        var missing: [Missing] = []
        for requirement in runbook.requires {
            let on = requirement.environment ?? environment
            let wanted = requirement.params.map { ($0, params[$0]?.text ?? "") }
            let runs = try await journal.runs(matching: RunQuery(environment: on, runbook: requirement.runbook, kinds: [.rollout, .resume]))
            let sameParams = runs.filter { run in wanted.allSatisfy { run.params[$0.0] == $0.1 } }
            let passed = sameParams.filter { $0.status == .succeeded }
            let recent = passed.filter { run in
                guard let within = requirement.within else { return true }
                return (run.endedAt ?? run.startedAt) >= now.addingTimeInterval(-within.seconds)
            }
            if !recent.isEmpty { continue }
            let what = "a passing run of '\(requirement.runbook)' on \(on)"
                + (wanted.isEmpty ? "" : " with " + wanted.map { "\($0.0)=\($0.1)" }.joined(separator: ", "))
                + (requirement.within.map { " within the last \(DurationText.format($0))" } ?? "")
            let found: String
            if let newest = passed.first {
                found = "the newest, \(newest.id), ended \(age(now.timeIntervalSince(newest.endedAt ?? newest.startedAt))) ago"
            } else if let newest = sameParams.first {
                found = "the newest such run, \(newest.id), \(newest.status.rawValue.replacingOccurrences(of: "_", with: " "))"
            } else if let other = runs.first {
                found = "its newest run there, \(other.id), had " + wanted.map { "\($0.0)=\(other.params[$0.0] ?? "(none)")" }.joined(separator: ", ")
            } else {
                found = "the journal has no run of it there"
            }
            missing.append(Missing(requirement: requirement, message: "requires \(what); \(found)"))
        }
        return missing
    }

    static func age(_ seconds: TimeInterval) -> String {
        if seconds < 120 { return "\(Int(seconds)) s" }
        if seconds < 7200 { return "\(Int(seconds / 60)) min" }
        return String(format: "%.1f h", seconds / 3600)
    }
}
