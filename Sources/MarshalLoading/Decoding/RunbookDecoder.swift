import Foundation
import MarshalCore
import Yams

/// Decodes a runbook file (DESIGN.md "Runbook") into `Runbook`.
struct RunbookDecoder {
    let reader: NodeReader
    let path: String

    func decode(_ root: Node) -> Runbook? {
        guard let (map, name) = VersionCheck.header(root, "the runbook file", FileDeclarations.runbook, name: "runbook", reader: reader) else { return nil }
        let targets: TargetSelector
        if let node = map.node("targets") {
            targets = decodeTargets(node, "'targets'") ?? .all(at: reader.location(of: node))
        } else {
            targets = .all(at: map.location)
        }
        var runbook = Runbook(name: name, path: path, location: map.location, targets: targets)
        runbook.description = map.string("description")
        if let params = map.node("params") { runbook.params = decodeParams(params) }
        if let strategy = map.node("strategy") { runbook.strategy = decodeStrategy(strategy) }
        let steps = StepDecoder(reader: reader)
        if let preflight = map.node("preflight") { runbook.preflight = steps.decodeList(preflight, "'preflight'") }
        if let list = map.node("steps", required: true, expected: "a list of steps") {
            runbook.steps = steps.decodeList(list, "'steps'")
        }
        if let onFailure = map.node("on_failure") { runbook.onFailure = decodeFailurePolicy(onFailure) }
        if let rollback = map.node("rollback") { runbook.rollback = steps.decodeList(rollback, "'rollback'") }
        if let report = map.node("report") { runbook.report = decodeReport(report) }
        if let requires = map.node("requires") { runbook.requires = decodeRequires(requires, params: runbook.params) }
        map.finish()
        return runbook
    }

    func decodeTargets(_ node: Node, _ what: String) -> TargetSelector? {
        let items = reader.listOrSingle(node)
        var terms: [TargetSelector.Term] = []
        for item in items {
            guard let text = reader.string(item, "\(what) entry") else { continue }
            for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
                terms.append(part == "all" ? .all : .name(part))
            }
        }
        if terms.isEmpty {
            reader.error("\(what) selects nothing; expected a role, a host name, a list of them, or \"all\"", at: node)
            return nil
        }
        return TargetSelector(terms, at: reader.location(of: node))
    }

    private func decodeParams(_ node: Node) -> [ParamSpec] {
        guard let map = reader.mapping(node, "'params'") else { return [] }
        map.accept(map.pairs.map(\.key))
        return map.pairs.compactMap { pair in
            var spec = ParamSpec(name: pair.key, location: pair.keyLocation)
            guard case .mapping = pair.value else {
                // `release: v1` is a shorthand for a string param with that default.
                if case .scalar = pair.value {
                    spec.defaultValue = reader.configValue(pair.value)
                    return spec
                }
                reader.error("param '\(pair.key)' must be a mapping such as { type: string, required: true } or a default value", at: pair.value)
                return nil
            }
            guard let entry = reader.mapping(pair.value, "param '\(pair.key)'")?.declare(FileDeclarations.param) else { return nil }
            if let kind = entry.choice("type", as: ParamSpec.Kind.self) { spec.kind = kind }
            spec.required = entry.bool("required") ?? false
            if let value = entry.node("default") { spec.defaultValue = reader.configValue(value) }
            spec.description = entry.string("description")
            if let choices = entry.node("choices") {
                spec.choices = reader.sequence(choices, "'choices'")?.map { reader.configValue($0).text }
            }
            entry.finish()
            if spec.required, spec.defaultValue != nil {
                reader.error("param '\(pair.key)' is required and has a default; a default makes it optional, so drop one of them", at: pair.keyLocation)
            }
            return spec
        }
    }

    private func decodeStrategy(_ node: Node) -> Strategy {
        var strategy = Strategy()
        guard let map = reader.mapping(node, "'strategy'")?.declare(FileDeclarations.strategy) else { return strategy }
        if let batches = map.node("batches"), let items = reader.sequence(batches, "'batches'") {
            var decoded: [BatchSize] = []
            var lastPercent = 0
            for item in items {
                guard let batch = HostShareText.parse(item, reader: reader, subject: "batch size", minimum: 1, sample: "25%",
                                                           count: BatchSize.count, percent: BatchSize.percent) else { continue }
                if case .percent(let p) = batch {
                    if p <= lastPercent {
                        reader.error("batch \"\(p)%\" must be larger than the batch before it (\(lastPercent)%); percentages are cumulative shares of the targets", at: item)
                    }
                    lastPercent = p
                }
                decoded.append(batch)
            }
            if items.isEmpty { reader.error("'batches' is empty; expected sizes such as [1, \"50%\", \"100%\"]", at: batches) }
            if !decoded.isEmpty { strategy.batches = decoded }
        }
        if let node = map.node("max_failures") {
            if let limit = HostShareText.parse(node, reader: reader, subject: "'max_failures'", minimum: 0, sample: "10%",
                                                  count: FailureLimit.count, percent: FailureLimit.percent) { strategy.maxFailures = limit }
        }
        if let forks = map.int("forks", min: 1) { strategy.forks = forks }
        map.finish()
        return strategy
    }

    private func decodeFailurePolicy(_ node: Node) -> FailurePolicy {
        if case .scalar(let scalar) = node {
            switch scalar.string {
            case "rollback": return .rollback
            case "stop", "abort": return .stop
            default:
                reader.error("'on_failure': unknown value '\(scalar.string)'; expected rollback, stop, or { run: RUNBOOK }\(Suggestion.hint(for: scalar.string, in: ["rollback", "stop"]))", at: node)
                return .stop
            }
        }
        guard let map = reader.mapping(node, "'on_failure'")?.declare(FileDeclarations.runbook.nested("on_failure")) else { return .stop }
        let runbook = map.template("run", required: true, expected: "the runbook to run, e.g. rollback.yml")
        var params: [ConfigEntry] = []
        if let given = map.node("params"), let entries = reader.mapping(given, "'on_failure' params") {
            entries.accept(entries.pairs.map(\.key))
            params = entries.pairs.map { ConfigEntry(key: $0.key, value: reader.configValue($0.value), location: $0.keyLocation) }
            entries.finish()
        }
        map.finish()
        return runbook.map { .run(runbook: $0, params: params) } ?? .stop
    }

    private func decodeRequires(_ node: Node, params: [ParamSpec]) -> [Requirement] {
        reader.listOrSingle(node).compactMap { item in
            guard let map = reader.mapping(item, "'requires' entry")?.declare(FileDeclarations.requirement) else { return nil }
            let runbook = map.string("runbook", required: true)
            var requirement = Requirement(runbook: runbook ?? "?", location: map.location)
            requirement.environment = map.string("environment")
            if let given = map.node("params") {
                for entry in reader.listOrSingle(given) {
                    guard let name = reader.string(entry, "'requires' param") else { continue }
                    if !params.contains(where: { $0.name == name }) {
                        reader.error("'requires' compares param '\(name)', which this runbook does not declare\(Suggestion.hint(for: name, in: params.map(\.name)))", at: entry)
                        continue
                    }
                    requirement.params.append(name)
                }
            }
            requirement.within = map.duration("within")
            map.finish()
            return runbook == nil ? nil : requirement
        }
    }

    private func decodeReport(_ node: Node) -> ReportSpec? {
        guard let map = reader.mapping(node, "'report'")?.declare(FileDeclarations.runbook.nested("report")) else { return nil }
        let template = map.string("template") ?? "optimization-results"
        let baseline = map.string("baseline")
        map.finish()
        return ReportSpec(template: template, baseline: baseline, location: map.location)
    }
}
