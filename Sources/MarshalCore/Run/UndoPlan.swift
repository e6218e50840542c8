/// What a rollback still has to undo, read from the journal of a run (and of its resumes and
/// earlier rollbacks): every undo part that has not succeeded yet, newest change first. An undo
/// that failed is pending again; an undo (or a forward change) that was in flight when Marshal
/// stopped is a question for the operator (`--rerun STEP` undoes it, `--skip STEP` treats it as
/// done, or for a forward step as having changed nothing).
public struct UndoPlan: Sendable {
    public struct Entry: Sendable {
        public var expanded: ExpandedStep
        public var host: String?
        public var batch: Int
        public var evidence: ConfigValue?
        /// Parts still to do, in order (a release switches back before its own undo runs).
        public var parts: [UndoKey.Part]
        /// An earlier attempt failed, or was in flight and the operator said --rerun.
        public var retry: Bool
    }

    public var entries: [Entry]
    /// Undos (or forward changes) in flight when the run stopped that no flag decided.
    public var questions: [String]
    /// Their steps' names as --rerun and --skip take them, shell-quoted, ready to paste.
    public var questionNames: [String] = []
    /// In-flight undo parts (or forward steps, part nil) the operator said finished (or changed
    /// nothing) with --skip: the rollback journals that answer so it is not asked again.
    public var skipped: [(expanded: ExpandedStep, host: String?, batch: Int, part: UndoKey.Part?)] = []

    /// The undo parts a completed step has: a release switches back; any step with `undo` runs it.
    public static func parts(of step: Step) -> [UndoKey.Part] {
        var parts: [UndoKey.Part] = []
        if step.kind.is(ReleaseStep.self) { parts.append(.switchBack) }
        if step.undoStep != nil { parts.append(.undoStep) }
        return parts
    }

    public static func make(steps: [ExpandedStep], progress: PriorProgress, rerun: Set<String>, skip: Set<String>) -> UndoPlan {
        var entries: [Entry] = []
        var questions: [String] = []
        var questionNames: [String] = []
        var skipped: [(expanded: ExpandedStep, host: String?, batch: Int, part: UndoKey.Part?)] = []
        // A forward change in flight is newer than every finished one: it is undone first.
        for flight in progress.inFlight where flight.key.phase == .main {
            guard let expanded = steps.first(where: { $0.ordinal == flight.key.ordinal }) else { continue }
            let parts = Self.parts(of: expanded.step)
            guard !parts.isEmpty else { continue }
            let stepNames = expanded.step.commandLineNames(on: flight.key.host)
            if stepNames.contains(where: skip.contains) {
                skipped.append((expanded, flight.key.host, flight.key.batch ?? 0, nil))
                continue
            }
            if stepNames.contains(where: rerun.contains) {
                entries.append(Entry(expanded: expanded, host: flight.key.host, batch: flight.key.batch ?? 0, evidence: nil,
                                     parts: parts, retry: true))
            } else {
                questions.append("'\(expanded.step.id ?? expanded.step.name)' (\(expanded.step.kind.name)) was in flight on \(flight.key.host ?? "this machine")")
                questionNames.append(ShellQuote.quote(expanded.step.id ?? expanded.step.name))
            }
        }
        // A failed step that may have changed something stopped the run: it is the newest change.
        let failedChanges = progress.failed.reversed().compactMap { failed -> (PriorProgress.Finished, ExpandedStep)? in
            guard let expanded = steps.first(where: { $0.ordinal == failed.key.ordinal }),
                  expanded.step.undoesFailure(evidence: failed.evidence) else { return nil }
            return (failed, expanded)
        }
        let succeeded = progress.finished.reversed().filter { $0.key.phase == .main && $0.succeeded }
            .compactMap { finished in steps.first(where: { $0.ordinal == finished.key.ordinal }).map { (finished, $0) } }
        for (finished, expanded) in failedChanges + succeeded {
            var pending: [UndoKey.Part] = []
            var retry = false
            let parts: [UndoKey.Part] = finished.succeeded ? Self.parts(of: expanded.step) : [.undoStep]
            for part in parts {
                let key = UndoKey(ordinal: finished.key.ordinal, host: finished.key.host, batch: finished.key.batch ?? 0, part: part)
                switch progress.undos[key] {
                case nil: pending.append(part)
                case .succeeded?, .skipped?: break
                case .started?:
                    let stepNames = expanded.step.commandLineNames(on: finished.key.host)
                    if stepNames.contains(where: skip.contains) {
                        skipped.append((expanded, finished.key.host, finished.key.batch ?? 0, part))
                        break
                    }
                    if stepNames.contains(where: rerun.contains) {
                        pending.append(part)
                        retry = true
                    } else {
                        questions.append("the undo of '\(expanded.step.id ?? expanded.step.name)' (\(part == .switchBack ? "switch back" : expanded.step.undoStep?.kind.name ?? "undo")) was in flight on \(finished.key.host ?? "this machine")")
                        questionNames.append(ShellQuote.quote(expanded.step.id ?? expanded.step.name))
                    }
                default:
                    pending.append(part)
                    retry = true
                }
            }
            guard !pending.isEmpty else { continue }
            entries.append(Entry(expanded: expanded, host: finished.key.host, batch: finished.key.batch ?? 0, evidence: finished.evidence,
                                 parts: pending, retry: retry))
        }
        var plan = UndoPlan(entries: entries, questions: questions, skipped: skipped)
        plan.questionNames = questionNames
        return plan
    }
}
