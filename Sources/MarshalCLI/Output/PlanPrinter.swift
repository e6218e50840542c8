import MarshalCore
import Rainbow

/// Human-readable plan: one section per batch, each step with its rendered action per host.
struct PlanPrinter {
    var colour: Bool

    func render(_ plan: MarshalCore.Plan) -> String {
        func bold(_ s: String) -> String { colour ? s.bold : s }
        func dim(_ s: String) -> String { colour ? s.dim : s }
        var out: [String] = []
        let hostCount = plan.targets.count
        out.append(bold("Plan: \(plan.runbook) on \(plan.environment)") + (plan.protected ? " (protected)" : ""))
        out.append("  targets: \(plan.targets.joined(separator: ", ")) (\(hostCount) host\(hostCount == 1 ? "" : "s") in \(plan.batches.count) batch\(plan.batches.count == 1 ? "" : "es"))")
        if !plan.params.isEmpty {
            out.append("  params: " + plan.params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
        out.append("  max_failures: \(plan.maxFailures); on failure: \(plan.onFailure)")
        func steps(_ list: [MarshalCore.Plan.PlannedStep]) {
            for step in list {
                let scope = step.scope == "each-host" ? "" : " [\(step.scope)]"
                out.append("  \(step.label). \(bold(step.name)) \(dim("(\(step.kind))"))\(scope)" + (step.when.map { " when \($0)" } ?? ""))
                for action in step.actions {
                    let host = action.host ?? "local"
                    out.append("       \(host): \(action.detail)")
                    // The exact commands, when they say more than the description (a shell step's are the same).
                    if let command = action.command, command != action.detail {
                        for line in command.split(separator: "\n", omittingEmptySubsequences: false) { out.append("         \(dim("$")) \(line)") }
                    }
                    if let undo = action.undo { out.append("       \(dim("undo")) \(host): \(undo)") }
                }
            }
        }
        if !plan.preflight.isEmpty {
            out.append("")
            out.append(bold("Preflight") + " (read-only; any failure stops before anything changes)")
            steps(plan.preflight)
        }
        for batch in plan.batches {
            out.append("")
            out.append(bold("Batch \(batch.index) of \(plan.batches.count): \(batch.hosts.joined(separator: ", "))"))
            steps(batch.steps)
        }
        if !plan.rollback.isEmpty {
            out.append("")
            out.append(bold("Rollback list") + " (after a failure with on_failure: rollback, or on `marshal rollback`; in order, on the hosts the failed run touched)")
            steps(plan.rollback)
        }
        if !plan.onFailureRun.isEmpty {
            out.append("")
            out.append(bold("On failure") + " (\(plan.onFailure), in this run, on that runbook's targets)")
            steps(plan.onFailureRun)
        }
        return out.joined(separator: "\n")
    }
}
