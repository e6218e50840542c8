/// The `run` template scope (`{{ run.id }}`…): its keys listed once, for the checker that refuses
/// an unknown one, the planner that shows them and the run that fills them.
public enum RunScope {
    public static let keys = ["id", "runbook", "environment", "started_at", "operator"]
    /// The keys a plan cannot know before the run starts (it shows them as references).
    public static let knownOnlyAtRunTime: Set<String> = ["id", "started_at", "operator"]

    /// The scope's values; every key of `keys`, nothing else.
    public static func values(id: String, runbook: String, environment: String, startedAt: String,
                              operatorName: String) -> [String: String] {
        ["id": id, "runbook": runbook, "environment": environment, "started_at": startedAt, "operator": operatorName]
    }
}
