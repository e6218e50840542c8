import Foundation

/// One execution of a runbook against an environment, as the journal keeps it.
///
/// Everything in it is already masked by the caller: the journal never sees a secret.
public struct RunRecord: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case running
        case succeeded
        case failed
        case rolledBack = "rolled_back"
        /// The process stopped without finishing (killed, crashed, lost its lease); resumable.
        case interrupted
        /// Stopped on purpose, waiting for an approval; resumable.
        case paused
        /// Stopped by the operator or by preflight before anything changed.
        case aborted

        /// True once nothing more will be written to the run by its own process.
        public var isFinished: Bool { self != .running }
    }

    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case rollout
        case rollback
        case resume
    }

    /// Short, sortable id such as `20261124-033501-a1b2`; see `RunID`.
    public var id: String
    public var runbook: String
    public var runbookPath: String
    public var environment: String
    /// Parameters as given on the command line, secrets already masked.
    public var params: [String: String]
    /// Resolved inputs (params, vars, hosts…) as a JSON document, secrets already masked.
    public var inputsJSON: String
    public var status: Status
    public var startedAt: Date
    public var endedAt: Date?
    /// Who started the run, as `user@machine`.
    public var operatorName: String
    /// Process id of the marshal process that ran it, on the operator's machine.
    public var pid: Int32
    public var kind: Kind
    /// The rollout a rollback undoes, or the run a resume continues.
    public var parentRunId: String?
    /// One or two lines for the operator: what failed, where.
    public var failureSummary: String?

    public init(
        id: String, runbook: String, runbookPath: String, environment: String,
        params: [String: String] = [:], inputsJSON: String = "{}", status: Status = .running,
        startedAt: Date, endedAt: Date? = nil, operatorName: String, pid: Int32,
        kind: Kind = .rollout, parentRunId: String? = nil, failureSummary: String? = nil
    ) {
        self.id = id
        self.runbook = runbook
        self.runbookPath = runbookPath
        self.environment = environment
        self.params = params
        self.inputsJSON = inputsJSON
        self.status = status
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.operatorName = operatorName
        self.pid = pid
        self.kind = kind
        self.parentRunId = parentRunId
        self.failureSummary = failureSummary.map(ControlCharacters.escape)
    }

    /// The machine part of `operatorName` (`deploy@ci-7` → `ci-7`); the whole name when it has no `@`.
    public var machine: String { OperatorName.machine(of: operatorName) }
}

/// How the run's final state is written: status, end time and, on failure, a summary.
public struct RunUpdate: Sendable, Hashable, Codable {
    public var status: RunRecord.Status
    public var endedAt: Date?
    public var failureSummary: String?

    public init(status: RunRecord.Status, endedAt: Date? = nil, failureSummary: String? = nil) {
        self.status = status
        self.endedAt = endedAt
        // Summaries quote step messages: escaped like them before the journal stores them.
        self.failureSummary = failureSummary.map(ControlCharacters.escape)
    }
}

/// Filters for listing runs; every field narrows, nil means "any". Newest first.
public struct RunQuery: Sendable, Hashable {
    public var environment: String?
    public var runbook: String?
    public var kinds: Set<RunRecord.Kind>?
    /// Matched against the status as shown (a dead `running` run counts as `interrupted`).
    public var statuses: Set<RunRecord.Status>?
    /// Leave this run out (a report's own run when looking for its baseline).
    public var excluding: String?
    public var limit: Int?

    public init(
        environment: String? = nil, runbook: String? = nil, kinds: Set<RunRecord.Kind>? = nil,
        statuses: Set<RunRecord.Status>? = nil, excluding: String? = nil, limit: Int? = nil
    ) {
        self.environment = environment
        self.runbook = runbook
        self.kinds = kinds
        self.statuses = statuses
        self.excluding = excluding
        self.limit = limit
    }
}

/// Makes and reads run ids: UTC start time to the second plus 4 random hex digits.
public enum RunID {
    /// The word that means "the newest run" wherever a RUN_ID is taken.
    public static let last = "last"

    public static func make(startedAt: Date, random: UInt16 = .random(in: .min ... .max)) -> String {
        let calendar = Calendar(identifier: .gregorian)
        let utc = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? .current
        let c = calendar.dateComponents(in: utc, from: startedAt)
        func two(_ v: Int?) -> String { pad(v ?? 0, 2) }
        let date = pad(c.year ?? 0, 4) + two(c.month) + two(c.day)
        let time = two(c.hour) + two(c.minute) + two(c.second)
        return "\(date)-\(time)-\(pad(Int(random), 4, radix: 16))"
    }

    private static func pad(_ value: Int, _ width: Int, radix: Int = 10) -> String {
        let digits = String(value, radix: radix)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

/// `user@machine` helpers, shared by the journal and the lock.
public enum OperatorName {
    public static func make(user: String, machine: String) -> String { "\(user)@\(machine)" }

    public static func machine(of name: String) -> String {
        guard let at = name.lastIndex(of: "@") else { return name }
        return String(name[name.index(after: at)...])
    }
}

extension RunRecord {
    /// Whether this run went on with `other`: a resume of it, or a rollback of it.
    public func continues(_ other: RunRecord) -> Bool {
        parentRunId == other.id && (kind == .resume || kind == .rollback)
    }

    /// The runs among `runs` that went on with this one, oldest first.
    public func continuations(among runs: [RunRecord]) -> [RunRecord] {
        runs.filter { $0.continues(self) }.sorted { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }
    }

    /// "then resumed by run ID (status)", "then rolled back by run ID (status)": what became of the run it continues.
    public var continuationText: String {
        "then \(kind == .rollback ? "rolled back" : "resumed") by run \(id) (\(status.rawValue))"
    }
}
