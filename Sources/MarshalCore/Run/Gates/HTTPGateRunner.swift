import Foundation

/// The HTTP client and load generator the HTTP kinds (`http`, `health`, `metric`, `benchmark`,
/// `notify`) use from this machine.
public struct HTTPGateRunner: GateRunner {
    public var http: any HTTPClient
    public var load: any LoadGenerator

    public init(http: any HTTPClient, load: any LoadGenerator) {
        self.http = http
        self.load = load
    }
}

extension GateRunner {
    /// Sends a `notify` step's webhook for a run event (start, failure, rollback, success).
    public func notify(_ step: NotifyStep, event: NotifyStep.Event, summary: String, context: StepContext) async -> StepOutcome {
        do throws(StepFailure) {
            return try await Notifier(http: http).send(step, event: event.rawValue, summary: summary, context: context)
        } catch {
            return StepOutcome(status: .ignoredFailure, message: context.masker.mask(error.message))
        }
    }
}

/// Renders a JSON body: string leaves are templates (`{{ params.release }}`), the rest is literal.
enum JSONBody {
    static func render(_ value: ConfigValue, context: StepContext) throws(StepFailure) -> ConfigValue {
        switch value {
        case .string(let text):
            guard text.contains("{{") else { return value }
            return .string(try context.render(TemplateString(text, at: .synthetic("json body"))).plainValue)
        case .list(let items):
            var out: [ConfigValue] = []
            for item in items { out.append(try render(item, context: context)) }
            return .list(out)
        case .map(let entries):
            var out: [ConfigEntry] = []
            for entry in entries { out.append(ConfigEntry(key: entry.key, value: try render(entry.value, context: context), location: entry.location)) }
            return .map(out)
        default:
            return value
        }
    }
}
