import ArgumentParser
import MarshalCore

/// RUN_ID, `-e ENV` and `--state`: how report, resume and show name one recorded run (`last`, an
/// id, a unique prefix), and where its history is read.
struct NamedRun: ParsableArguments {
    @Argument(help: "A run id, a unique prefix of one, or 'last'.")
    var runId: String

    /// Optional, because it only says whose `state:` holds the run (and, with 'last', whose newest run).
    @Option(name: .shortAndLong, help: "The run's environment (name or path): its `state:` is read; with 'last', its newest run.",
            completion: ProjectNames.environments)
    var environment: String?

    @OptionGroup var stateOptions: StateOptions

    /// The store that holds the run, and the run; exit 2 saying why when there is none. The caller
    /// closes the store.
    func open(forRun: Bool = false) async throws -> (journal: any JournalStore, run: RunRecord) {
        let journal = try stateOptions.journal(environmentNamed: environment, forRun: forRun)
        do {
            return (journal, try await journal.run(id: runId, environment: environment.map(EnvironmentName.of)))
        } catch {
            journal.close()
            Terminal.stderr("error: \(error)")
            throw ExitCode.invalidInput
        }
    }
}
