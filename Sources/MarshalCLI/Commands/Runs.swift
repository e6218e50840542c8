import ArgumentParser
import Foundation
import MarshalCore
import MarshalReport
import MarshalJournal
import MarshalLoading

extension MarshalCommand {
    /// `marshal runs [-e ENV]`: the history, newest first.
    struct Runs: AsyncParsableCommand, AnswersInFormat {
        static let configuration = CommandConfiguration(abstract: "List recorded runs, newest first.")

        @Option(name: .shortAndLong, help: "Only runs of this environment (name).")
        var environment: String?

        @Option(help: "How many runs to list.")
        var limit: Int = 20

        func validate() throws {
            // 0 listed nothing and said "no runs recorded".
            guard limit >= 1 else { throw ValidationError("--limit must be at least 1, got \(limit)") }
        }

        @OptionGroup var outputOptions: OutputOptions

        @OptionGroup var stateOptions: StateOptions

        func run() async throws {
            let journal = try stateOptions.journal(environmentNamed: environment)
            defer { journal.close() }
            let runs = try await journal.runs(environment: environment.map(EnvironmentName.of), limit: limit)
            switch output {
            case .json: Terminal.stdout(try JSONOutput.encode(runs))
            case .text:
                if runs.isEmpty { Terminal.stdout("no runs recorded in \(journal.location)"); return }
                let f = ISO8601DateFormatter()
                for run in runs {
                    let took = run.endedAt.map { String(format: "%.1fs", $0.timeIntervalSince(run.startedAt)) } ?? "-"
                    Terminal.stdout([run.id, f.string(from: run.startedAt), run.environment, run.runbook, run.kind.rawValue,
                                     run.status.rawValue, took, run.operatorName].joined(separator: "  "))
                    if let failure = run.failureSummary, run.status != .succeeded { Terminal.stdout(quoting: "    \(failure)") }
                    // Continuations are newer, so listed above it: a paused run's "continue with …" may be history.
                    for next in run.continuations(among: runs) { Terminal.stdout(quoting: "    \(next.continuationText)") }
                }
            }
        }
    }

    /// `marshal show RUN_ID`: steps, hosts, gates, evidence of one run.
    struct Show: AsyncParsableCommand, AnswersInFormat {
        static let configuration = CommandConfiguration(abstract: "Show one run: its steps per host, gates and measurements.")

        @OptionGroup var named: NamedRun

        @OptionGroup var outputOptions: OutputOptions

        @Option(help: "In text: how many of the last lines of each step's stdout and stderr to print (0: none).")
        var lines: Int = 5

        struct Document: Encodable {
            var run: RunRecord
            var steps: [StepRecord]
            var measurements: [MeasurementRecord]
        }

        func run() async throws {
            let (journal, run) = try await named.open()
            defer { journal.close() }
            let steps = try await journal.steps(runId: run.id)
            let measurements = try await journal.measurements(runId: run.id)
            switch output {
            case .json: Terminal.stdout(try JSONOutput.encode(Document(run: run, steps: steps, measurements: measurements)))
            case .text:
                Terminal.stdout(quoting: "run \(run.id): \(run.runbook) on \(run.environment) — \(run.status.rawValue)")
                Terminal.stdout(quoting: "  by \(run.operatorName), pid \(run.pid), started \(ISO8601DateFormatter().string(from: run.startedAt))")
                if !run.params.isEmpty {
                    Terminal.stdout(quoting: "  params: " + run.params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
                }
                if let failure = run.failureSummary { Terminal.stdout(quoting: "  \(failure)") }
                for next in run.continuations(among: try await journal.runs(matching: RunQuery(environment: run.environment))) {
                    Terminal.stdout(quoting: "  \(next.continuationText)")
                }
                for step in steps {
                    let took = step.endedAt.map { String(format: "%.2fs", $0.timeIntervalSince(step.startedAt)) } ?? "in flight"
                    let outcome = step.isRollbackDecision ? "began" : "\(step.status.rawValue) (\(took))"
                    var line = "  #\(step.sequence) [\(step.phase.rawValue)\(step.batch.map { " b\($0)" } ?? "")] \(step.host ?? "local"): \(step.name) — \(outcome)"
                    if let exit = step.exitStatus { line += " exit \(exit)" }
                    Terminal.stdout(quoting: line)
                    if let message = step.message { Terminal.stdout(quoting: "      \(message)") }
                    // What was sent to the host, masked: the auditor's record of what ran.
                    for line in (step.command ?? "").split(separator: "\n", omittingEmptySubsequences: false) where step.command != nil {
                        Terminal.stdout(quoting: "      $ \(line)")
                    }
                    // Output is the host's text: escaped like every other value printed here.
                    for line in Self.excerpt(step.stdout, last: lines) { Terminal.stdout(quoting: "      | \(line)") }
                    for line in Self.excerpt(step.stderr, last: lines) { Terminal.stdout(quoting: "      ! \(line)") }
                }
                for m in measurements {
                    Terminal.stdout(quoting: "  measured \(GateEvaluation.label(of: m).map { "\($0): " } ?? "")\(m.kind) \(m.name)\(m.host.map { " on \($0)" } ?? ""): \(m.value.map { FigureFormat.value($0, unit: m.unit, metric: m.name) } ?? "no value") \(m.outcome?.rawValue ?? "")\(m.expectation.map { " (expect \($0))" } ?? "")")
                }
            }
        }

        /// The last `count` non-empty lines, with how many came before ("… 12 more lines") when cut.
        static func excerpt(_ text: String, last count: Int) -> [String] {
            guard count > 0 else { return [] }
            let all = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let trimmed = Array(all.reversed().drop { $0.trimmingCharacters(in: .whitespaces).isEmpty }.reversed())
            guard trimmed.count > count else { return trimmed }
            return ["… \(trimmed.count - count) earlier line\(trimmed.count - count == 1 ? "" : "s") (marshal show --output json for all)"] + trimmed.suffix(count)
        }
    }
}

/// `-e` takes a name or a path; the journal is keyed by the environment's name.
enum EnvironmentName {
    static func of(_ nameOrPath: String) -> String {
        guard nameOrPath.contains("/") || nameOrPath.hasSuffix(".yml") else { return nameOrPath }
        let loader = Loader()
        return loader.loadEnvironment(path: loader.environmentPath(nameOrPath)).value?.name ?? nameOrPath
    }
}
