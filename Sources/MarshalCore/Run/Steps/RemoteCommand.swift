/// Runs a command on a host and turns its result into an outcome: masked output, exit status,
/// timeout, and `stdout`/`stderr`/`rc` evidence.
enum RemoteCommand {
    /// A step without `timeout:` gets this one (documented in docs/rollback.md): long enough for
    /// a big migration or backup, while SSH keepalive ends a silent, hung host much sooner.
    static let defaultTimeout: Duration = .seconds(1800)
    static let evidenceLimit = 64 * 1024

    static func run(_ command: ShellCommand, on executor: any RemoteExecutor, timeout: Duration?,
                    context: StepContext) async -> (outcome: StepOutcome, result: CommandResult?) {
        let display = context.masker.mask(command.display)
        let limit = timeout ?? defaultTimeout
        // Kept as a plain Result: a do/catch around the typed-throws call here crashed the
        // Swift 6.3 optimizer (CopyPropagation) in release builds.
        let attempt: Result<CommandResult, TransportError> = await Self.attempt(command, on: executor, timeout: limit)
        guard case .success(let raw) = attempt else {
            if case .failure(let error) = attempt {
                return (StepOutcome(status: .failed, message: context.masker.mask(error.description), command: display), nil)
            }
            return (StepOutcome(status: .failed, command: display), nil)
        }
        var result = raw
        result.stdout = context.masker.mask(raw.stdout)
        result.stderr = context.masker.mask(raw.stderr)
        return (outcome(for: result, display: display, limit: limit), result)
    }

    static func attempt(_ command: ShellCommand, on executor: any RemoteExecutor, timeout: Duration) async -> Result<CommandResult, TransportError> {
        do {
            return .success(try await executor.run(command, timeout: timeout))
        } catch {
            return .failure(error)
        }
    }

    static func outcome(for result: CommandResult, display: String, limit: Duration) -> StepOutcome {
        var outcome = StepOutcome(status: .succeeded, exitStatus: result.exitStatus, stdout: result.stdout, stderr: result.stderr,
                                  command: display)
        switch result.ending {
        case .exited(0): break
        case .exited(let code):
            outcome.status = .failed
            outcome.message = "exit status \(code)" + (lastLine(result.stderr).map { ": \($0)" } ?? "")
        case .signalled(let signal):
            outcome.status = .failed
            outcome.signal = signal
            outcome.message = "killed by signal \(signal)"
        case .timedOut:
            outcome.status = .timedOut
            outcome.message = "timed out after \(DurationText.format(limit)); "
                + (result.stopConfirmed ? "the command was stopped"
                    : "host not answering or the stop could not be confirmed; the command may still be running")
        }
        // Evidence is journaled and templated: keep at most 64 KiB of each stream (the journal's
        // excerpts keep head and tail separately).
        let text = String(decoding: result.stdout.prefix(evidenceLimit), as: UTF8.self)
        outcome.evidence = .record([
            "stdout": .string(text),
            "stdout_lines": .list(text.split(separator: "\n").prefix(1000).map { .string(String($0)) }),
            "stderr": .string(String(decoding: result.stderr.prefix(evidenceLimit), as: UTF8.self)),
            "truncated": .bool(result.stdout.count > evidenceLimit || result.stderr.count > evidenceLimit),
            "rc": result.exitStatus.map { .number(Double($0)) } ?? .null,
            "duration": .number(result.duration.seconds),
        ])
        return outcome
    }

    static func lastLine(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let line = text.split(separator: "\n").last else { return nil }
        return line.count > 200 ? String(line.prefix(200)) + "…" : String(line)
    }
}

extension Optional where Wrapped == String {
    var orEmpty: String { self ?? "" }
}

import Foundation
