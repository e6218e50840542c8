import Foundation

/// Runs the steps that talk HTTP from this machine: `http`, `health`, `metric`, `benchmark` and
/// `notify`, each gate with three outcomes (passed, failed, inconclusive) and its evidence.
public struct HTTPGateRunner: GateRunner {
    public var http: any HTTPClient
    public var load: any LoadGenerator

    public init(http: any HTTPClient, load: any LoadGenerator) {
        self.http = http
        self.load = load
    }

    public func notify(_ step: NotifyStep, event: NotifyStep.Event, summary: String, context: StepContext) async -> StepOutcome {
        do throws(StepFailure) {
            return try await Notifier(http: http).send(step, event: event.rawValue, summary: summary, context: context)
        } catch {
            return StepOutcome(status: .ignoredFailure, message: context.masker.mask(error.message))
        }
    }

    public func run(_ step: Step, host: HostSpec?, context: StepContext) async -> StepOutcome {
        do throws(StepFailure) {
            switch step.kind {
            case .http(let h), .health(let h):
                return try await HTTPCheck(http: http).run(h, kind: HTTPCheck.kind(of: step), context: context)
            case .metric(let m):
                return try await MetricCheck(http: http).run(m, context: context)
            case .benchmark(let b):
                return try await BenchmarkGate(load: load).run(b, context: context)
            case .notify(let n):
                guard n.events.contains(.now) else {
                    return StepOutcome(status: .skipped, message: "fires on \(n.events.map(\.rawValue).joined(separator: ", "))")
                }
                return try await Notifier(http: http).send(n, event: "now", summary: nil, context: context)
            default:
                return .failed("\(step.kind.name) is not an HTTP step")
            }
        } catch {
            return StepOutcome(status: .failed, message: context.masker.mask(error.message))
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
