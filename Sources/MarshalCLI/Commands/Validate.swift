import ArgumentParser
import Foundation
import MarshalCore
import MarshalLoading

extension MarshalCommand {
    /// `marshal validate [PATH...] [-e ENV]`: every problem in every file, then exit 0 or 2.
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check runbooks and environments; print every problem as file:line:column.",
            discussion: "With no PATH, checks Runbooks/ and Environments/. With -e, runbooks are also checked against that environment (targets, secrets, vars) and every step is rendered for every host, as `plan` does."
        )

        @Argument(help: "Files or folders to check.")
        var paths: [String] = []

        @Option(name: .shortAndLong, help: "Also check runbooks against this environment (name or path).", completion: ProjectNames.environments)
        var environment: String?

        func run() async throws {
            let loader = Loader()
            let paths = self.paths.isEmpty ? ["Runbooks", "Environments"].filter { FileManager.default.fileExists(atPath: $0) } : self.paths
            let environmentPath = environment.map(loader.environmentPath)
            var diagnostics = loader.validate(paths: paths, environmentPath: environmentPath)
            // With -e, each runbook that passed is also rendered for every host exactly as `plan` renders it.
            if let environmentPath, !diagnostics.contains(where: { $0.severity == .error }),
               let environment = loader.loadEnvironment(path: environmentPath).value {
                for file in loader.expand(paths).files where file != environmentPath {
                    guard case .runbook(let runbook)? = loader.loadDocument(path: file).value else { continue }
                    diagnostics += PlanRendering.findings(runbook, environment: environment)
                }
            }
            DiagnosticPrinter().print(diagnostics)
            let errors = diagnostics.filter { $0.severity == .error }.count
            let files = loader.expand(paths).files.count
            if errors > 0 {
                Terminal.stderr("\(errors) error\(errors == 1 ? "" : "s") in \(Set(diagnostics.map(\.location.file)).count) of \(files) file\(files == 1 ? "" : "s")")
                throw ExitCode.invalidInput
            }
            Terminal.stdout("\(files) file\(files == 1 ? "" : "s") valid")
        }
    }
}
