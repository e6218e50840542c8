/// Runs a command on a host and turns its result into an outcome: masked output, exit status,
/// timeout, and `stdout`/`stderr`/`rc` evidence.
enum RemoteCommand {
    static let defaultTimeout: Duration = .seconds(1800)

    static func run(_ command: ShellCommand, on executor: any RemoteExecutor, timeout: Duration?,
                    context: StepContext) async -> (outcome: StepOutcome, result: CommandResult?) {
        let display = context.masker.mask(command.display)
        do {
            let result = try await executor.run(command, timeout: timeout ?? defaultTimeout)
            let stdout = context.masker.mask(result.stdout)
            let stderr = context.masker.mask(result.stderr)
            var outcome = StepOutcome(status: .succeeded, exitStatus: result.exitStatus, stdout: stdout, stderr: stderr,
                                      command: display)
            switch result.ending {
            case .exited(0): break
            case .exited(let code):
                outcome.status = .failed
                outcome.message = "exit status \(code)" + lastLine(stderr).map { ": \($0)" }.orEmpty
            case .signalled(let signal):
                outcome.status = .failed
                outcome.signal = signal
                outcome.message = "killed by signal \(signal)"
            case .timedOut:
                outcome.status = .timedOut
                outcome.message = "timed out after \(DurationText.format(timeout ?? defaultTimeout)); the command was stopped"
            }
            let text = String(decoding: stdout, as: UTF8.self)
            outcome.evidence = .record([
                "stdout": .string(text),
                "stdout_lines": .list(text.split(separator: "\n").map { .string(String($0)) }),
                "stderr": .string(String(decoding: stderr, as: UTF8.self)),
                "rc": result.exitStatus.map { .number(Double($0)) } ?? .null,
                "duration": .number(result.duration.seconds),
            ])
            return (outcome, CommandResult(stdout: stdout, stderr: stderr, ending: result.ending, duration: result.duration))
        } catch {
            return (StepOutcome(status: .failed, message: context.masker.mask(error.description), command: display), nil)
        }
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
