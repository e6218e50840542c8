import Foundation

/// `probe`: run a command, extract one number (regex group 1, a JSON path, or the whole output),
/// hold it to `expect`. A probe that extracts nothing is inconclusive, never a pass.
enum ProbeRunner {
    static func run(_ probe: ProbeStep, on executor: any RemoteExecutor, timeout: Duration?, host: String?,
                    context: StepContext) async throws(StepFailure) -> StepOutcome {
        let command = try context.render(probe.command)
        var (outcome, result) = await RemoteCommand.run(command, on: executor, timeout: timeout, context: context)
        guard let result, outcome.status == .succeeded else { return outcome }
        let text = result.stdoutText
        let value: ExprValue?
        do {
            value = try extract(probe.extract, from: text, budget: min(timeout ?? BoundedRegex.defaultBudget, BoundedRegex.defaultBudget))
        } catch {
            outcome.status = .failed
            outcome.message = "probe: \(error.message)"
            return outcome
        }
        var values: [String: ExprValue] = ["stdout": .string(text), "rc": .number(Double(result.exitStatus ?? -1))]
        if let value { values["value"] = value }
        let what = "probe"
        let verdict: GateCheck.Verdict
        if value == nil {
            verdict = GateCheck.noData("probe: nothing to extract from the output (\(describe(probe.extract)))", onNoData: probe.onNoData)
        } else {
            verdict = GateCheck.evaluate(probe.expect, in: context.expressionScope(values), onNoData: probe.onNoData, what: what)
        }
        outcome.status = verdict.status
        outcome.message = verdict.message
        var evidence: [ConfigEntry] = []
        if case .map(let entries)? = outcome.evidence { evidence = entries }
        evidence.append(ConfigEntry(key: "value", value: value.map(ConfigValue.init) ?? .null, location: .synthetic("evidence")))
        outcome.evidence = .map(evidence)
        var number: Double?
        if case .number(let n)? = value { number = n }
        outcome.measurements.append(.init(kind: .probe, name: command.display, outcome: verdict.outcome,
                                          expectation: probe.expect?.source, value: number))
        if value != nil { outcome.sample = values.numbers }
        return outcome
    }

    static func describe(_ extract: ProbeStep.Extract) -> String {
        switch extract {
        case .regex(let re): "regex \(re)"
        case .jsonPath(let path): "JSON path \(path)"
        case .wholeOutput: "the whole output as a number"
        }
    }

    /// A regex that ran out of its time budget: the pattern is at fault, not the output.
    struct ExtractError: Error {
        let message: String
    }

    static func extract(_ extract: ProbeStep.Extract, from text: String, budget: Duration = BoundedRegex.defaultBudget) throws(ExtractError) -> ExprValue? {
        switch extract {
        case .wholeOutput:
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return Double(trimmed).map { .number($0) }
        case .regex(let pattern):
            guard let regex = try? NSRegularExpression(pattern: pattern) else { return nil }
            let match: NSTextCheckingResult
            switch BoundedRegex.firstMatch(regex, in: text, budget: budget) {
            case .match(let found): match = found
            case .noMatch: return nil
            case .overBudget(let spent): throw ExtractError(message: BoundedRegex.overBudgetMessage(pattern, budget: spent, length: text.count))
            }
            let group = match.numberOfRanges > 1 ? 1 : 0
            guard let range = Range(match.range(at: group), in: text) else { return nil }
            let captured = String(text[range])
            return Double(captured.trimmingCharacters(in: .whitespaces)).map { .number($0) } ?? .string(captured)
        case .jsonPath(let path):
            guard let document = ExprValue.fromJSON(Array(text.utf8)),
                  let expression = try? Expression.parse(path, at: .synthetic("probe")),
                  let value = try? expression.evaluate(in: DictionaryScope(document: document)) else { return nil }
            if case .null = value { return nil }
            return value
        }
    }
}
