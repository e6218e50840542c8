import Foundation
import MarshalCore
import Rainbow

/// Prints diagnostics as `file:line:column: error: message`, coloured only on a terminal.
struct DiagnosticPrinter {
    var colour: Bool

    init(colour: Bool = Terminal.stderrIsTTY && !Terminal.noColor) {
        self.colour = colour
    }

    func line(for diagnostic: Diagnostic) -> String {
        let location = diagnostic.location.line == 0 ? diagnostic.location.file : diagnostic.location.description
        let severity = diagnostic.severity.rawValue
        guard colour else { return "\(location): \(severity): \(diagnostic.message)" }
        let tinted = diagnostic.severity == .error ? severity.red.bold : severity.yellow.bold
        return "\(location.bold): \(tinted): \(diagnostic.message)"
    }

    func print(_ diagnostics: [Diagnostic]) {
        for diagnostic in diagnostics { Terminal.stderr(line(for: diagnostic)) }
    }
}

enum Terminal {
    static var stdoutIsTTY: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) == 1 }
    static var stdinIsTTY: Bool { isatty(STDIN_FILENO) == 1 }
    /// https://no-color.org: any non-empty value switches colour off.
    static var noColor: Bool { !(ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty }

    static func stderr(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func stdout(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
