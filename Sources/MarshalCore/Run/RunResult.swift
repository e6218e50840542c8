/// How a run ended, for the CLI's exit code and summary.
public struct RunResult: Sendable {
    public enum Status: String, Sendable {
        case succeeded, failed, rolledBack = "rolled_back", paused, aborted
        /// Refused before any step ran: a host key did not verify, or too many hosts were unreachable.
        case couldNotStart = "could_not_start"
        /// Stopped at a step boundary because the environment lock could not be proven (lost or not renewable).
        case lockLost = "lock_lost"
    }

    public var runId: String
    public var status: Status
    public var summary: String
    public var failedHosts: [String]
    public var undone: [String]

    /// 0 success (or paused, resumable), 1 a step or gate failed.
    public var exitCode: Int32 {
        switch status {
        case .succeeded, .paused: 0
        case .failed, .rolledBack, .aborted: 1
        case .couldNotStart, .lockLost: 3
        }
    }
}
