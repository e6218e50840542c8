/// The `failed_run` template scope (`{{ failed_run.id }}`…) of a runbook's `rollback:` steps and
/// of `on_failure: { run: }` params: its keys listed once, for the checker that refuses an unknown
/// one, the planner that shows them as references and the rollback that fills them.
public enum FailedRunScope {
    public static let keys = ["id", "runbook", "summary"]

    /// The scope's values; every key of `keys`, nothing else.
    public static func values(id: String, runbook: String, summary: String) -> [String: String] {
        ["id": id, "runbook": runbook, "summary": summary]
    }
}
