import ArgumentParser
import Foundation
import MarshalCore
import MarshalHTTP
import MarshalJournal
import MarshalLoading

extension MarshalCommand {
    /// `marshal run RUNBOOK -e ENV`: execute the runbook on the environment's hosts.
    struct Run: AsyncParsableCommand, AnswersInFormat {
        static let configuration = CommandConfiguration(
            abstract: "Run a runbook against an environment, in batches, journaling every step.",
            discussion: "Exit codes: 0 success, 1 a step or gate failed (rolled back if configured), 2 invalid input, 3 could not start (lock held, protected environment not confirmed)."
        )

        @OptionGroup var target: TargetOptions

        @OptionGroup var confirmation: ConfirmationOptions

        @OptionGroup var documents: DocumentOptions

        @OptionGroup var outputOptions: OutputOptions

        @Option(name: .customLong("baseline"), help: "The run that baseline.<step id>.<metric> in gates reads (default: last-success of this runbook and environment).")
        var baselineRun: String?

        @OptionGroup var stateOptions: StateOptions

        @OptionGroup var lockOptions: LockWaitOptions

        func run() async throws {
            let inputs = Inputs()
            let environment = try inputs.environment(target.environment)
            let runbook = try inputs.runbook(target.runbook, against: environment)
            let prepared = try RunPreparation.prepare(runbook: runbook, environment: environment, params: try Inputs.parseParams(target.param),
                                                      limit: target.limit, approvals: confirmation.approve, includes: IncludeLoader())
            try confirmation.require(environment: environment, runbook: runbook)
            let journal = try stateOptions.journal(for: environment, forRun: true)
            defer { journal.close() }
            try await Promotion.require(runbook, environment: environment.name, params: prepared.params, journal: journal)
            let startedAt = SystemClock().date
            var request = RunRequest(
                runId: RunID.make(startedAt: startedAt), runbook: runbook, environment: environment, params: prepared.params,
                secrets: prepared.secrets, processEnvironment: ProcessInfo.processInfo.environment, limit: prepared.limit,
                operatorName: Operator.name, pid: getpid(), approvals: Set(confirmation.approve), startedAt: startedAt)
            try lockOptions.apply(to: &request)
            request.documents = JournaledRunbook.documents(for: runbook)
            request.baseline = await Baseline.resolve(reference: baselineRun, runbook: runbook.name, environment: environment.name,
                                                      excluding: request.runId, journal: journal)
            if let named = baselineRun, request.baseline?.runId == nil {
                Terminal.stderr("error: --baseline \(named): \(request.baseline?.description ?? "not found"); nothing was run")
                throw ExitCode.invalidInput
            }
            let code = try await RunLauncher.launch(request, journal: journal, output: output)
            try await documents.write(runId: request.runId, journal: journal)
            throw ExitCode(code)
        }
    }
}

/// Checks done before anything changes: params, secrets, and a full render of the plan.
enum RunPreparation {
    struct Prepared {
        var params: [String: ConfigValue]
        var secrets: [String: Secret]
        var limit: [String]?

        /// `steps` of `runbook` as the run expanded them, where they are expanded again (resume,
        /// rollback): includes in place, their params rendered in the run's own base scope.
        func expand(_ steps: [Step], of runbook: Runbook, in environment: Environment,
                    includes: any IncludeResolver) throws(StepFailure) -> [ExpandedStep] {
            let scope = Planner.baseScope(runbook, environment: environment, params: params, secrets: secrets,
                                          env: ProcessInfo.processInfo.environment)
            return try ExpandedStep.expand(steps, runbook: runbook, resolver: includes, renderer: TemplateRenderer(), scope: scope)
        }
    }

    static func prepare(runbook: Runbook, environment: Environment, params raw: [(name: String, value: String)],
                        limit: String?, approvals: [String], includes: any IncludeResolver) throws -> Prepared {
        let printer = DiagnosticPrinter()
        let params: [String: ConfigValue]
        switch ParamBinder.bind(raw, to: runbook) {
        case .success(let bound): params = bound
        case .failure(let error):
            printer.print(error.diagnostics)
            throw ExitCode.invalidInput
        }
        let resolved = SecretResolver().resolve(environment.secrets, strict: true)
        if !resolved.failures.isEmpty {
            printer.print(resolved.failures)
            throw ExitCode.invalidInput
        }
        let limitHosts = limit.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        // Rendering every step (included ones too) for every host now means a typo fails here, not
        // halfway through a rollout.
        let plan: Plan
        do {
            plan = try Planner(renderer: TemplateRenderer(), env: ProcessInfo.processInfo.environment)
                .plan(runbook, environment: environment, params: params, secrets: resolved.secrets, limit: limitHosts, includes: includes)
        } catch {
            printer.print(error.diagnostics)
            throw ExitCode.invalidInput
        }
        // An approve step may stand in an included runbook: the names are the planned steps'.
        let planned = (plan.preflight + plan.batches.flatMap(\.steps)).map(\.expanded.step)
        let approveNames = Set(planned.filter(\.kind.canBeApproved).flatMap(\.commandLineNames))
        for name in approvals where !approveNames.contains(name) && name != environment.name {
            printer.print([Diagnostic(.error, at: .synthetic("command line"),
                                      "--approve \(name): runbook '\(runbook.name)' has no approve step (or gate with on_no_data: pause) of that id or name\(Suggestion.hint(for: name, in: Array(approveNames)))")])
            throw ExitCode.invalidInput
        }
        return Prepared(params: params, secrets: resolved.secrets, limit: limitHosts)
    }
}

/// `requires:`: a run whose required passing runs are not in the journal does not start (exit 3).
enum Promotion {
    static func require(_ runbook: Runbook, environment: String, params: [String: ConfigValue], journal: any JournalStore) async throws {
        let missing: [PromotionCheck.Missing]
        do {
            missing = try await PromotionCheck.missing(runbook, environment: environment, params: params, journal: journal)
        } catch {
            Terminal.stderr("error: cannot check what runbook '\(runbook.name)' requires: the journal (\(journal.location)) could not be read: \(error); nothing was run")
            throw ExitCode(ExitCode.couldNotStart.rawValue)
        }
        guard !missing.isEmpty else { return }
        for item in missing {
            Terminal.stderr("error: \(item.requirement.location): \(runbook.name) on \(environment) \(item.message)")
        }
        Terminal.stderr("nothing was run: run the required runbook first, or remove 'requires' from \(runbook.path)")
        throw ExitCode(ExitCode.couldNotStart.rawValue)
    }
}

/// Runs a prepared request with the adapters wired, maps the outcome to an exit code.
enum RunLauncher {
    static func launchRollback(_ request: RunRequest, progress: PriorProgress, plan: UndoPlan, journal: any JournalStore,
                               output: OutputFormat, includes: IncludeLoader = IncludeLoader()) async throws -> Int32 {
        try await launch(request, journal: journal, output: output, includes: includes) { (orchestrator) async throws(RunStartError) -> RunResult in
            try await orchestrator.rollback(request, progress: progress, plan: plan)
        }
    }

    static func launch(_ request: RunRequest, journal: any JournalStore, output: OutputFormat,
                       includes: IncludeLoader = IncludeLoader()) async throws -> Int32 {
        try await launch(request, journal: journal, output: output, includes: includes) { (orchestrator) async throws(RunStartError) -> RunResult in
            try await orchestrator.run(request)
        }
    }

    static func launch(_ request: RunRequest, journal: any JournalStore, output: OutputFormat, includes: IncludeLoader,
                       body: @escaping @Sendable (Orchestrator) async throws(RunStartError) -> RunResult) async throws -> Int32 {
        let observer: any RunObserver
        switch output {
        case .json: observer = JSONLinesObserver()
        case .text:
            let colour = Terminal.stdoutIsTTY && !Terminal.noColor
            observer = Terminal.stdoutIsTTY ? LiveObserver(colour: colour) : PlainObserver(colour: false)
        }
        let renderer = TemplateRenderer()
        var services = RunServices(connector: TransportRouter(), journal: journal, renderer: renderer, observer: observer,
                                   clock: SystemClock(), files: LocalFileSystem(), gates: HTTPGates.make(), includes: includes)
        services.redis = RedisGate.make()
        services.crashHook = CrashPoint.hook()
        services.recovery = RecoveryFiles()
        let orchestrator = Orchestrator(services: services)
        let task = Task { () async throws(RunStartError) -> RunResult in try await body(orchestrator) }
        let interrupts = InterruptHandler()
        interrupts.install { task.cancel() }
        do {
            let result = try await task.value
            if result.status == .lockLost {
                if output == .text { Terminal.stderr("\(result.summary)") }
                return result.exitCode
            }
            if request.kind == .rollback {
                if output == .text, result.status != .succeeded { Terminal.stderr("failed: \(result.summary)") }
                return result.status == .succeeded ? 0 : 1
            }
            if output == .text, result.status != .succeeded {
                Terminal.stderr("\(result.status == .paused ? "paused" : "failed"): \(result.summary)")
            }
            return result.exitCode
        } catch {
            Terminal.stderr("error: \(error)")
            return ExitCode.couldNotStart.rawValue
        }
    }
}

/// Loads runbooks named by `include` steps, relative to the including runbook.
struct IncludeLoader: IncludeResolver {
    /// Included runbooks a run journaled, by the path it resolved; used before the disk (rollback, resume).
    var journaled: [String: String] = [:]

    func runbook(for include: IncludeStep, from parent: Runbook) throws -> Runbook {
        let loader = Loader()
        let path = loader.resolveInclude(include.runbook, from: parent.path, journaled: journaled)
        let loaded = loader.loadRunbook(path: path, journaled: journaled)
        let diagnostics = loaded.diagnostics + (loaded.value.map { loader.check($0, environment: nil, journaled: journaled) } ?? [])
        guard let runbook = loaded.value, !diagnostics.contains(where: { $0.severity == .error }) else {
            throw DiagnosticsError(diagnostics)
        }
        return runbook
    }
}
