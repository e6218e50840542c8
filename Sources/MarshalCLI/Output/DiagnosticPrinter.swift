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
        // Messages quote the file; escaped before the printer adds colours of its own.
        let message = ControlCharacters.escape(diagnostic.message)
        let shownLocation = ControlCharacters.escape(location)
        guard colour else { return "\(shownLocation): \(severity): \(message)" }
        let tinted = diagnostic.severity == .error ? severity.red.bold : severity.yellow.bold
        return "\(shownLocation.bold): \(tinted): \(message)"
    }

    func print(_ diagnostics: [Diagnostic]) {
        for diagnostic in diagnostics { Terminal.stderr(styled: line(for: diagnostic)) }
    }
}

enum Terminal {
    static var stdoutIsTTY: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) == 1 }
    static var stdinIsTTY: Bool { isatty(STDIN_FILENO) == 1 }
    /// https://no-color.org: any non-empty value switches colour off.
    static var noColor: Bool { !(ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty }

    /// Errors and notices quote hosts, servers and files: control characters are shown, not obeyed.
    static func stderr(_ text: String) {
        stderr(styled: ControlCharacters.escape(text))
    }

    /// A line whose only control sequences are Marshal's own colours (its quoted parts escaped).
    static func stderr(styled text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func stdout(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// A line quoting hosts, servers or the journal: control characters shown, not obeyed.
    static func stdout(quoting text: String) {
        stdout(ControlCharacters.escape(text))
    }
}
