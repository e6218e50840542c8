/// Where a run whose journal could not be written (a full disk) leaves its complete account,
/// as Terraform leaves `errored.tfstate`: `resume` and `rollback` read it in place of the
/// journal's incomplete records of that run.
public protocol RecoveryStore: Sendable {
    /// Writes the run and its step records; returns where, or nil when that failed too.
    func save(run: RunRecord, steps: [StepRecord]) -> String?
}
