import Foundation
import MarshalCore
import Yams

/// Decodes one step: the common keys, then exactly one kind key whose value says what to do.
struct StepDecoder {
    let reader: NodeReader

    static let commonKeys = StepDeclarations.common.keyNames

    func decodeList(_ node: Node, _ what: String) -> [Step] {
        if case .scalar(let s) = node, s.style == .plain, node.tag.rawValue == Tag.Name.null.rawValue { return [] }
        guard let items = reader.sequence(node, what) else { return [] }
        return items.enumerated().compactMap { index, item in decode(item, "step \(index + 1) of \(what)", allowUndo: true) }
    }

    func decode(_ node: Node, _ what: String, allowUndo: Bool) -> Step? {
        guard let map = reader.mapping(node, what) else { return nil }
        let names = reader.kinds.names
        let kindKeys = map.pairs.filter { names.contains($0.key) }
        guard let kindPair = kindKeys.first else {
            let unknown = map.pairs.first { !Self.commonKeys.contains($0.key) }
            if let unknown {
                let hint = Suggestion.hint(for: unknown.key, in: names)
                reader.error("unknown step kind '\(unknown.key)'\(hint); expected one of: \(names.joined(separator: ", "))", at: unknown.keyLocation)
            } else {
                reader.error("\(what) says nothing to do; expected one kind key: \(names.joined(separator: ", "))", at: node)
            }
            return nil
        }
        for extra in kindKeys.dropFirst() {
            reader.error("a step has exactly one kind, but this one has '\(kindPair.key)' and '\(extra.key)'; split it into two steps", at: extra.keyLocation)
        }
        map.accept(kindKeys.map(\.key))

        var kindOn: TargetSelector?
        var over: GateWindow?
        // Templated fields recorded while decoding this step's kind (nested steps take their own).
        let mark = reader.templated.count
        let decoded = decodeKind(kindPair.key, kindPair.value, on: &kindOn, over: &over)
        let templated = Array(reader.templated[mark...])
        reader.templated.removeSubrange(mark...)
        guard let kind = decoded else {
            map.accept(Self.commonKeys)
            return nil
        }
        let id = map.string("id")
        if let id, !Self.isIdentifier(id), let loc = map.keyLocation("id") {
            reader.error("step id '\(id)' must start with a letter and use letters, digits and _ only (it is referenced as steps.\(id))", at: loc)
        }
        let name = map.string("name") ?? id ?? kind.plugin.defaultName
        var step = Step(id: id, name: name, kind: kind, location: reader.location(of: node))
        step.over = over
        step.templated = templated
        if let on = map.node("on") {
            step.on = RunbookDecoder(reader: reader, path: reader.file).decodeTargets(on, "'on'")
            if kindOn != nil { reader.error("'on' is given both on the step and inside '\(kindPair.key)'; keep one", at: on) }
        } else {
            step.on = kindOn
        }
        step.when = map.expression("when")
        if let retries = map.int("retries", min: 0) { step.retries = retries }
        if let delay = map.duration("delay") { step.delay = delay }
        step.until = map.expression("until")
        step.timeout = map.duration("timeout")
        step.register = map.string("register")
        if let register = step.register, !Self.isIdentifier(register), let loc = map.keyLocation("register") {
            reader.error("'register' name '\(register)' must start with a letter and use letters, digits and _ only", at: loc)
        }
        step.ignoreFailure = map.bool("ignore_failure") ?? false
        step.label = map.string("label")
        step.idempotent = map.bool("idempotent") ?? false
        step.undoOnFailure = map.bool("undo_on_failure")
        step.everyBatch = map.bool("every_batch") ?? false
        if step.everyBatch, step.on == nil, let at = map.keyLocation("every_batch") {
            reader.error("'every_batch' is for a step with 'on:' (which otherwise runs only in the first batch); without 'on:' a step already runs in every batch", at: at)
        }
        if let undo = map.node("undo") {
            if !allowUndo {
                reader.error("an undo step cannot have its own 'undo'", at: map.keyLocation("undo") ?? step.location)
            } else if !kind.acceptsUndo {
                reader.error("'undo' on a \(kind.name) step: a \(kind.name) step changes nothing, so there is nothing to undo", at: map.keyLocation("undo") ?? step.location)
            } else if let undoStep = decode(undo, "'undo' of step '\(name)'", allowUndo: false) {
                var undoStep = undoStep
                if undoStep.on == nil { undoStep.on = step.on }
                step.undo = UndoBox(undoStep)
            }
        }
        map.finish()
        return step
    }

    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.first, first.isLetter || first == "_" else { return false }
        return text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }

    // MARK: - Kinds

    /// The kind key's value, decoded by the kind's plug-in: its short form for a scalar (when it
    /// has one), else a mapping whose declared keys, common `on:` and unknown keys are handled here.
    /// `over: 60s` (a window of that length) or `over: STEP_ID` (the span of that step), on kinds
    /// that declare it (numeric gates).
    private func decodeWindow(_ map: MapReader) -> GateWindow? {
        guard let node = map.node("over"), let text = reader.string(node, "'over'") else { return nil }
        if let duration = DurationText.parse(text) {
            if duration <= .zero { reader.error("'over' must be a positive duration such as 60s, or the id of a step", at: node) }
            return .duration(duration)
        }
        guard Self.isIdentifier(text) else {
            reader.error("'over' must be a duration such as 60s or the id of an earlier step (its span), found '\(text)'", at: node)
            return nil
        }
        return .span(stepId: text)
    }

    private func decodeKind(_ key: String, _ node: Node, on: inout TargetSelector?, over: inout GateWindow?) -> StepKind? {
        guard let plugin = reader.kinds.kind(named: key) else { return nil }
        let what = "'\(key)'"
        if case .scalar = node, plugin.declaration.shorthand != nil {
            return plugin.decode(shorthand: YAMLDecodingNode(reader: reader, node: node)).map(StepKind.init)
        }
        guard let map = reader.mapping(node, what) else { return nil }
        map.declare(plugin.declaration.object)
        if plugin.declaration.object.keyNames.contains("on"), let onNode = map.node("on") {
            on = RunbookDecoder(reader: reader, path: reader.file).decodeTargets(onNode, "'on'")
        }
        if plugin.declaration.object.keyNames.contains("over") { over = decodeWindow(map) }
        defer { map.finish() }
        return plugin.decode(YAMLDecodingMap(map: map)).map(StepKind.init)
    }
}
