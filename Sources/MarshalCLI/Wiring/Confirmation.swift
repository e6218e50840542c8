import ArgumentParser
import MarshalCore

/// `--yes` and `--approve` of the commands that change an environment (run, rollback).
///
/// A protected environment asks before anything changes: on a TTY the operator types its name;
/// without a TTY, `--yes` alone is refused and `--approve` must name the environment or every
/// approve step of the runbook.
struct ConfirmationOptions: ParsableArguments {
    @Flag(help: "Do not ask for confirmation (refused alone for a protected environment without a TTY).")
    var yes = false

    @Option(help: "Approve ahead of time: an approve step by id or name, or a protected environment by its name (repeatable).")
    var approve: [String] = []

    func require(environment: Environment, runbook: Runbook, prompt: any Prompt = TerminalPrompt()) throws {
        guard environment.protected else { return }
        let approveSteps = runbook.steps.filter { $0.kind.isApprove }.map { $0.id ?? $0.name }
        if prompt.isInteractive && !yes {
            guard let answer = prompt.ask("Environment \(environment.name) is protected. Type its name to run \(runbook.name) on it: "), answer.trimmingCharacters(in: .whitespaces) == environment.name else {
                Terminal.stderr("error: confirmation did not match '\(environment.name)'; nothing was run")
                throw ExitCode.invalidInput
            }
            return
        }
        let approvedEnvironment = approve.contains(environment.name)
        let approvedSteps = !approveSteps.isEmpty && approveSteps.allSatisfy { approve.contains($0) }
        if !(approvedEnvironment || approvedSteps) {
            let needed = approveSteps.isEmpty ? "--approve \(environment.name)" : approveSteps.map { "--approve \($0)" }.joined(separator: " ")
            Terminal.stderr("error: environment \(environment.name) is protected and there is no terminal to confirm on; \(yes ? "--yes alone is not enough; " : "")pass \(needed) to approve this run explicitly. Nothing was contacted.")
            throw ExitCode.invalidInput
        }
    }
}
