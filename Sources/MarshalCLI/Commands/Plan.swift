import ArgumentParser
import Foundation
import MarshalCore
import MarshalLoading

extension MarshalCommand {
    /// `marshal plan RUNBOOK -e ENV [-p k=v]...`: what would run where, commands rendered, secrets masked.
    struct Plan: AsyncParsableCommand, AnswersInFormat {
        static let configuration = CommandConfiguration(
            abstract: "Show what a run would do: batches, hosts, each step's command (secrets masked)."
        )

        @OptionGroup var target: TargetOptions

        @OptionGroup var outputOptions: OutputOptions

        @Option(help: "Render run-time values as run ID had them ({{ run.id }}), to compare a run's journaled commands with its plan.")
        var asRun: String?

        func run() async throws {
            let inputs = Inputs()
            let environment = try inputs.environment(target.environment)
            let runbook = try inputs.runbook(target.runbook, against: environment)
            let limitHosts = target.limit.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
            let given = try Inputs.parseParams(target.param)
            let plan: MarshalCore.Plan
            do {
                plan = try PlanRendering.plan(runbook, environment: environment, params: given, limit: limitHosts, runId: asRun)
            } catch {
                DiagnosticPrinter().print(error.diagnostics)
                throw ExitCode.invalidInput
            }
            switch output {
            case .json: Terminal.stdout(try JSONOutput.encode(plan))
            case .text: Terminal.stdout(PlanPrinter(colour: Terminal.stdoutIsTTY && !Terminal.noColor).render(plan))
            }
        }
    }
}
