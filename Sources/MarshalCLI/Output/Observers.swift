import Foundation
import MarshalCore
import Rainbow

/// Plain timestamped lines: what CI logs and pipes get.
final class PlainObserver: RunObserver, @unchecked Sendable {
    private let lock = NSLock()
    private let colour: Bool
    private var pacer = ProgressPacer(every: 10)
    private let formatter: DateFormatter = {
        let f = DateFormatter()
        f.dateFormat = "HH:mm:ss.SSS"
        f.locale = Locale(identifier: "en_US_POSIX")
        return f
    }()

    init(colour: Bool) { self.colour = colour }

    func handle(_ event: RunEvent) {
        lock.lock()
        defer { lock.unlock() }
        // Long steps: a plain line every 10 s, as Artillery prints its summaries.
        if case .progress(let ref, let progress) = event {
            guard pacer.due(ref, progress) else { return }
            Terminal.stdout("\(formatter.string(from: Date())) [\(ref.host ?? "local")] \(ref.index). \(ref.name): \(progress.text)")
            return
        }
        guard let line = Self.describe(event, colour: colour) else { return }
        Terminal.stdout("\(formatter.string(from: Date())) \(line)")
    }

    static func describe(_ event: RunEvent, colour: Bool) -> String? {
        func paint(_ text: String, _ status: String) -> String {
            guard colour else { return text }
            switch status {
            case "succeeded", "rolled_back": return text.green
            case "failed", "timed_out", "inconclusive", "aborted": return text.red
            case "skipped", "ignored_failure", "paused": return text.yellow
            default: return text
            }
        }
        switch event {
        case .runStarted(let id, let runbook, let environment, let hosts, let batches):
            return "run \(id): \(runbook) on \(environment), \(hosts.count) host\(hosts.count == 1 ? "" : "s") in \(batches.count) batch\(batches.count == 1 ? "" : "es")"
        case .phaseStarted(let name):
            return "== \(name)"
        case .batchStarted(let index, let of, let hosts):
            return "== batch \(index)/\(of): \(hosts.joined(separator: ", "))"
        case .stepStarted, .progress:
            return nil
        case .stepFinished(let ref, let report):
            let where_ = ref.host ?? "local"
            var line = "[\(where_)] \(ref.phase == "undo" ? "" : "\(ref.index). ")\(ref.name): \(paint(report.status, report.status)) (\(String(format: "%.2f", report.duration))s)"
            if report.attempts > 1 { line += " after \(report.attempts) attempts" }
            // Messages and output quote hosts and servers: their control characters are shown, not obeyed.
            if let message = report.message { line += " — \(ControlCharacters.escape(message))" }
            if let output = report.output, !(report.message ?? "").contains(output) { line += "\n    │ \(ControlCharacters.escape(output))" }
            return line
        case .batchFinished(let index, let failed):
            return "== batch \(index) done" + (failed.isEmpty ? "" : ", failed: \(failed.joined(separator: ", "))")
        case .message(let text):
            return ControlCharacters.escape(text)
        case .runFinished(let id, let status, let summary, let duration):
            return "run \(id) \(paint(status, status)) in \(String(format: "%.1f", duration.seconds))s: \(ControlCharacters.escape(summary))"
        }
    }
}

/// One JSON object per line per event (`--output json`), for machines.
final class JSONLinesObserver: RunObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var pacer = ProgressPacer(every: 10)

    func handle(_ event: RunEvent) {
        var object: [String: Any] = ["time": ISO8601DateFormatter().string(from: Date())]
        switch event {
        case .progress(let ref, let progress):
            guard lock.withLock({ pacer.due(ref, progress) }) else { return }
            object.merge(["event": "progress", "elapsed": progress.elapsed, "text": progress.text]) { $1 }
            object.merge(Self.fields(ref)) { $1 }
            let optional: [String: Any?] = ["total": progress.total, "load_phase": progress.phase, "rate": progress.rate,
                                            "planned_rate": progress.plannedRate, "p95": progress.p95, "requests": progress.requests,
                                            "errors": progress.errors]
            for (key, value) in optional { if let value { object[key] = value } }
        case .runStarted(let id, let runbook, let environment, let hosts, let batches):
            object.merge(["event": "run_started", "run": id, "runbook": runbook, "environment": environment, "hosts": hosts, "batches": batches]) { $1 }
        case .phaseStarted(let name):
            object.merge(["event": "phase_started", "phase": name]) { $1 }
        case .batchStarted(let index, let of, let hosts):
            object.merge(["event": "batch_started", "batch": index, "batches": of, "hosts": hosts]) { $1 }
        case .stepStarted(let ref):
            object.merge(["event": "step_started"]) { $1 }
            object.merge(Self.fields(ref)) { $1 }
        case .stepFinished(let ref, let report):
            object.merge(["event": "step_finished", "status": report.status, "duration": report.duration, "attempts": report.attempts]) { $1 }
            object.merge(Self.fields(ref)) { $1 }
            if let exit = report.exitStatus { object["exit_status"] = Int(exit) }
            if let message = report.message { object["message"] = ControlCharacters.escape(message) }
            if let output = report.output { object["output"] = ControlCharacters.escape(output) }
        case .batchFinished(let index, let failed):
            object.merge(["event": "batch_finished", "batch": index, "failed_hosts": failed]) { $1 }
        case .message(let text):
            object.merge(["event": "message", "message": ControlCharacters.escape(text)]) { $1 }
        case .runFinished(let id, let status, let summary, let duration):
            object.merge(["event": "run_finished", "run": id, "status": status, "summary": ControlCharacters.escape(summary), "duration": duration.seconds]) { $1 }
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    static func fields(_ ref: RunEvent.StepRef) -> [String: Any] {
        var f: [String: Any] = ["step": ref.index, "name": ref.name, "kind": ref.kind, "phase": ref.phase]
        if let host = ref.host { f["host"] = host }
        if let batch = ref.batch { f["batch"] = batch }
        return f
    }
}

/// A live view on a terminal: one line per host of the current step, redrawn in place, with the
/// finished lines kept above it. In a batch of more than `summaryThreshold` hosts a step gets one
/// live progress line and, once done, one summary line (counts by status, slowest host); only
/// hosts that did not succeed get a line of their own, so 1,000 hosts do not print 1,000 lines
/// per step.
final class LiveObserver: RunObserver, @unchecked Sendable {
    static let summaryThreshold = 20

    private let lock = NSLock()
    private var active: [String: String] = [:]   // host → "step name"
    private var drawn = 0
    private let colour: Bool
    private let sink: (String) -> Void
    private var batchHosts = 0
    private var summary: StepSummary?

    /// One step across a large batch.
    private struct StepSummary {
        let ref: RunEvent.StepRef
        var started = 0
        var finished = 0
        var counts: [String: Int] = [:]
        var slowest: (host: String, seconds: Double)?

        func same(_ other: RunEvent.StepRef) -> Bool {
            ref.index == other.index && ref.name == other.name && ref.phase == other.phase && ref.batch == other.batch
        }

        var label: String { "[\(started) hosts] \(ref.phase == "undo" ? "" : "\(ref.index). ")\(ref.name)" }
    }

    init(colour: Bool, sink: @escaping (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) }) {
        self.colour = colour
        self.sink = sink
    }

    func handle(_ event: RunEvent) {
        lock.lock()
        defer { lock.unlock() }
        // One write per event: the erase, the finished lines and the redrawn live lines reach the
        // terminal together, so a terminal (or a tmux pane) never shows the live lines erased.
        defer { flushFrame() }
        clear()
        switch event {
        case .batchStarted(let index, let of, let hosts) where hosts.count > LiveObserver.summaryThreshold:
            flushSummary()
            batchHosts = hosts.count
            write("== batch \(index)/\(of): \(hosts.count) hosts (\(hosts.prefix(3).joined(separator: ", ")), … \(hosts.last ?? ""))\n")
        case .batchStarted(_, _, let hosts):
            flushSummary()
            batchHosts = hosts.count
            if let line = PlainObserver.describe(event, colour: colour) { write(line + "\n") }
        case .stepStarted(let ref) where ref.host != nil && batchHosts > LiveObserver.summaryThreshold:
            if summary.map({ !$0.same(ref) }) ?? true {
                flushSummary()
                summary = StepSummary(ref: ref)
            }
            summary?.started += 1
        case .stepStarted(let ref):
            active[ref.host ?? "local"] = ref.name
        case .stepFinished(let ref, let report) where summary?.same(ref) == true:
            summary?.finished += 1
            summary?.counts[report.status, default: 0] += 1
            if report.duration > (summary?.slowest?.seconds ?? -1) { summary?.slowest = (ref.host ?? "local", report.duration) }
            if report.status != "succeeded" && report.status != "skipped",
               let line = PlainObserver.describe(event, colour: colour) { write(line + "\n") }
        case .progress(let ref, let progress):
            // Redrawn in place about once a second: one line per running step, never a scroll.
            active[ref.host ?? "local"] = "\(ref.name) — \(progress.text)"
        case .stepFinished(let ref, _):
            active[ref.host ?? "local"] = nil
            if let line = PlainObserver.describe(event, colour: colour) { write(line + "\n") }
        default:
            flushSummary()
            if let line = PlainObserver.describe(event, colour: colour) { write(line + "\n") }
        }
        draw()
    }

    /// The finished step's line: counts by status, worst first, and the slowest host.
    private func flushSummary() {
        guard let done = summary else { return }
        summary = nil
        let order = ["failed", "timed_out", "inconclusive", "ignored_failure", "skipped", "succeeded"]
        let counts = done.counts.sorted { (order.firstIndex(of: $0.key) ?? 0) < (order.firstIndex(of: $1.key) ?? 0) }
        let text = counts.map { status, count in paint("\(status) \(count)", status) }.joined(separator: ", ")
        var line = "\(done.label): \(text)"
        if done.finished < done.started { line += ", unfinished \(done.started - done.finished)" }
        if let slowest = done.slowest { line += " (slowest \(slowest.host) \(String(format: "%.2f", slowest.seconds))s)" }
        write(line + "\n")
    }

    private func paint(_ text: String, _ status: String) -> String {
        guard colour else { return text }
        switch status {
        case "succeeded": return text.green
        case "failed", "timed_out", "inconclusive": return text.red
        default: return text.yellow
        }
    }

    private func clear() {
        guard drawn > 0 else { return }
        write(String(repeating: "\u{1B}[1A\u{1B}[2K", count: drawn))
        drawn = 0
    }

    private func draw() {
        if let summary {
            let step = "\(summary.ref.phase == "undo" ? "" : "\(summary.ref.index). ")\(summary.ref.name)"
            write("  ⋯ [\(batchHosts) hosts] \(step): \(summary.finished) done, \(summary.started - summary.finished) running\n")
            drawn += 1
        }
        for (host, step) in active.sorted(by: { $0.key < $1.key }).prefix(20) {
            write("  ⋯ [\(host)] \(step)\n")
            drawn += 1
        }
    }

    private var frame = ""
    private func write(_ text: String) { frame += text }
    private func flushFrame() {
        guard !frame.isEmpty else { return }
        sink(frame)
        frame = ""
    }
}

/// Lets a progress report through once per `every` seconds of a step's own elapsed time
/// (the first at `every` s), so plain and JSON output stay short on long steps.
struct ProgressPacer {
    let every: Double
    private var printed: [String: Int] = [:]

    init(every: Double) { self.every = every }

    mutating func due(_ ref: RunEvent.StepRef, _ progress: StepProgress) -> Bool {
        let key = "\(ref.phase)/\(ref.batch ?? 0)/\(ref.index)/\(ref.host ?? "")"
        let slot = Int(progress.elapsed / every)
        guard slot >= 1, slot > printed[key, default: 0] else { return false }
        printed[key] = slot
        return true
    }
}
