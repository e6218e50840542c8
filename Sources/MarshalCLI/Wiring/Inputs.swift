import ArgumentParser
import Foundation
import MarshalCore
import MarshalLoading

/// Loads the runbook and environment a command names, printing every diagnostic and exiting 2
/// when either has errors, so no command starts on bad input.
struct Inputs {
    let loader = Loader()
    let printer = DiagnosticPrinter()

    func environment(_ nameOrPath: String) throws -> Environment {
        let path = loader.environmentPath(nameOrPath)
        let loaded = loader.loadEnvironment(path: path)
        printer.print(loaded.diagnostics)
        guard let environment = loaded.value, !loaded.hasErrors else { throw ExitCode.invalidInput }
        return environment
    }

    func runbook(_ nameOrPath: String, against environment: Environment?) throws -> Runbook {
        let path = loader.runbookPath(nameOrPath)
        let loaded = loader.loadRunbook(path: path)
        var diagnostics = loaded.diagnostics
        if let runbook = loaded.value, !loaded.hasErrors {
            diagnostics += loader.check(runbook, environment: environment)
        }
        printer.print(diagnostics)
        guard let runbook = loaded.value, !diagnostics.contains(where: { $0.severity == .error }) else { throw ExitCode.invalidInput }
        return runbook
    }

    /// Parses `-p name=value` strings.
    static func parseParams(_ raw: [String]) throws -> [(name: String, value: String)] {
        try raw.map { item in
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("-p expects NAME=VALUE, got '\(item)'")
            }
            return (String(item[..<eq]), String(item[item.index(after: eq)...]))
        }
    }
}

/// RUNBOOK, -e ENV, -p NAME=VALUE and --limit, shared by `plan` and `run`.
struct TargetOptions: ParsableArguments, NamesEnvironment {
    @Argument(help: "Runbook name (Runbooks/NAME.yml) or path.", completion: ProjectNames.runbooks)
    var runbook: String

    @OptionGroup var environmentOption: EnvironmentOption

    @Option(name: .shortAndLong, parsing: .unconditionalSingleValue, help: "A param as NAME=VALUE (repeatable).")
    var param: [String] = []

    @Option(help: "Only these hosts (comma-separated names).")
    var limit: String?
}
