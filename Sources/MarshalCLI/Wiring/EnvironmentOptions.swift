import ArgumentParser

/// `-e ENV` for the commands that load an environment file (plan, run, check, rollback, lock):
/// declared once so its help, its completion and its name are the same everywhere.
struct EnvironmentOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "Environment name (Environments/NAME.yml) or path.", completion: ProjectNames.environments)
    var environment: String
}

/// A command (or option group) that declares `@OptionGroup var environmentOption: EnvironmentOption`
/// reads the name it was given as `environment`.
protocol NamesEnvironment {
    var environmentOption: EnvironmentOption { get }
}

extension NamesEnvironment {
    var environment: String { environmentOption.environment }
}
