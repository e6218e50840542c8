/// A duration or expectation written as a template (`wait: "{{ params.pause }}"`,
/// `expect: "value < {{ params.max_depth }}"`): rendered with the run's params and vars when the
/// run (or `plan`, or `validate -e`) starts, then parsed as if it had been written out, so a bad
/// value is an input error naming where it was written, before anything runs.
public struct TemplatedField: Sendable, Hashable {
    public enum Key: String, Sendable, Hashable {
        /// `wait`'s, a soak's or a closed-loop benchmark's `duration`.
        case duration
        /// `http`/`health` `within`.
        case within
        /// `expect` of sql, probe and metric.
        case expect
    }

    public var key: Key
    public var template: TemplateString

    public init(key: Key, template: TemplateString) {
        self.key = key
        self.template = template
    }
}

extension Step {
    /// The step with every templated field rendered in `scope` and parsed, recursively into a
    /// soak's gates and the undo step. Secrets are refused: the value would be shown in plans,
    /// messages and the journal.
    public func resolvingTemplated(renderer: any TemplateRendering, scope: TemplateScope) throws(TemplatedFieldError) -> Step {
        var step = self
        for field in templated {
            let rendered: RenderedText
            do {
                rendered = try renderer.render(field.template, in: scope)
            } catch {
                // The renderer throws a Diagnostic; its message, placed at the field's template.
                throw TemplatedFieldError(at: field.template.location, (error as? Diagnostic)?.message ?? String(describing: error))
            }
            if rendered.containsSecret {
                throw TemplatedFieldError(at: field.template.location, "'\(field.key.rawValue)' may not use a secret: its value is shown in plans, messages and the journal")
            }
            let text = rendered.plainValue
            switch field.key {
            case .duration, .within:
                guard let duration = DurationText.parse(text.trimmingWhitespace) else {
                    throw TemplatedFieldError(at: field.template.location, "'\(field.key.rawValue)' is \"\(field.template.source)\", which renders to '\(text)': not a duration; expected a number with a unit such as 500ms, 30s, 2m or 1h")
                }
                try step.kind.setDuration(duration, for: field.key, at: field.template.location)
            case .expect:
                let expression: Expression
                do {
                    expression = try Expression.parse(text, at: field.template.location)
                } catch {
                    throw TemplatedFieldError(at: field.template.location, "'expect' is \"\(field.template.source)\", which renders to '\(text)': \(error.message)")
                }
                try step.kind.setExpect(expression, at: field.template.location)
            }
        }
        step.templated = []
        if var soak = step.kind.as(SoakStep.self), soak.gates.contains(where: \.hasTemplated) {
            var gates: [Step] = []
            for gate in soak.gates { gates.append(try gate.resolvingTemplated(renderer: renderer, scope: scope)) }
            soak.gates = gates
            step.kind = StepKind(soak)
        }
        if let undo = step.undoStep, !undo.templated.isEmpty {
            step.undo = UndoBox(try undo.resolvingTemplated(renderer: renderer, scope: scope))
        }
        return step
    }

    /// Whether this step or a step inside it has templated fields still to render.
    public var hasTemplated: Bool {
        if !templated.isEmpty { return true }
        if let soak = kind.as(SoakStep.self), soak.gates.contains(where: \.hasTemplated) { return true }
        return undoStep?.hasTemplated ?? false
    }
}

extension StepKind {
    mutating func setDuration(_ duration: Duration, for key: TemplatedField.Key, at location: SourceLocation) throws(TemplatedFieldError) {
        if let soak = self.as(SoakStep.self), soak.interval > duration {
            throw TemplatedFieldError(at: location, "the soak's 'duration' (\(DurationText.format(duration))) is shorter than its 'interval' (\(DurationText.format(soak.interval))); the gates would run once at most")
        }
        guard let updated = plugin.withDuration(duration, for: key) else {
            throw TemplatedFieldError(at: location, "a \(name) step has no templated '\(key.rawValue)'")
        }
        self = StepKind(updated)
    }

    mutating func setExpect(_ expression: Expression, at location: SourceLocation) throws(TemplatedFieldError) {
        guard let updated = plugin.withExpect(expression) else {
            throw TemplatedFieldError(at: location, "a \(name) step has no templated 'expect'")
        }
        self = StepKind(updated)
    }
}

/// A templated duration or expectation that does not render to a valid one; where it was written.
public struct TemplatedFieldError: Error, Sendable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    public init(at location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }
    public var description: String { "\(location): \(message)" }
}
