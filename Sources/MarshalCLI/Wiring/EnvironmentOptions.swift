import ArgumentParser

/// `-e ENV` for the commands that load an environment file (plan, run, check, rollback, lock):
/// declared once so its help, its completion and its name are the same everywhere.
struct EnvironmentOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "Environment name (Environments/NAME.yml) or path.", completion: ProjectNames.environments)
    var environment: String
}

/// `-e ENV` for the commands that find a run by id or 'last' (report, resume, show): optional,
/// because it only says whose `state:` holds the run.
struct RunEnvironmentOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "The run's environment (name or path): its `state:` is read; with 'last', its newest run.",
            completion: ProjectNames.environments)
    var environment: String?
}
