import Foundation
import MarshalCore
import MarshalLoading

/// The one path from a loaded runbook and environment to a rendered plan: `plan` prints it,
/// `validate -e` keeps only its findings, so validate cannot pass what plan would refuse.
enum PlanRendering {
    static func plan(_ runbook: Runbook, environment: Environment, params given: [(name: String, value: String)],
                     limit: [String]?, runId: String? = nil) throws(DiagnosticsError) -> MarshalCore.Plan {
        let params: [String: ConfigValue]
        switch ParamBinder.bind(given, to: runbook) {
        case .success(let bound): params = bound
        case .failure(let error): throw error
        }
        // Secrets not set here render as *** (a plan never shows or needs their values).
        let secrets = SecretResolver().resolve(environment.secrets, strict: false).secrets
        let planner = Planner(renderer: TemplateRenderer(), env: ProcessInfo.processInfo.environment)
        return try planner.plan(runbook, environment: environment, params: params, secrets: secrets, limit: limit,
                                run: runId.map { ["id": $0] } ?? [:], includes: IncludeLoader())
    }

    /// `validate -e`: every step rendered for every host, as `plan` would; a required param with no
    /// value on the command line gets a stand-in of its type (the first choice, its name, "0", "false", "1s").
    static func findings(_ runbook: Runbook, environment: Environment) -> [Diagnostic] {
        let standIns = runbook.params.filter { $0.required && $0.defaultValue == nil }.map { spec -> (name: String, value: String) in
            if let first = spec.choices?.first { return (spec.name, first) }
            switch spec.kind {
            // The param's own name: a plain word, so checks on ids and paths (release ids) accept it.
            case .string: return (spec.name, spec.name)
            case .int, .number: return (spec.name, "0")
            case .bool: return (spec.name, "false")
            case .duration: return (spec.name, "1s")
            }
        }
        do {
            _ = try plan(runbook, environment: environment, params: standIns, limit: nil)
            return []
        } catch {
            return error.diagnostics
        }
    }
}
