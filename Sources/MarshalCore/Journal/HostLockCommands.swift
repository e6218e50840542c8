import Foundation

/// Shell commands for the environment lock kept on a host (Kamal's and Deployer's way): an atomic
/// `mkdir` of `~/.marshal/locks/ENV` by the deploy user, with an `info` file holding holder, machine,
/// pid, run id, start and lease end in the host's clock, and the operator's message. Pure builders: they return commands and
/// parse output; running them is the caller's job.
public enum HostLockCommands {
    public struct Holder: Sendable, Hashable {
        public var holder: String
        public var pid: Int32
        public var runId: String
        /// Host clock, epoch seconds.
        public var since: Int
        public var leaseUntil: Int
        /// The host's clock when it answered.
        public var hostNow: Int
        public var message: String?

        /// As a lock record on this machine's timeline: the host's lease mapped by its own clock, so
        /// clock skew between the machines does not matter.
        public func record(environment: String, localNow: Date) -> LockRecord {
            LockRecord(environment: environment, holder: holder, pid: pid, runId: runId,
                       since: localNow.addingTimeInterval(TimeInterval(since - hostNow)),
                       leaseExpiresAt: localNow.addingTimeInterval(TimeInterval(leaseUntil - hostNow)), message: message)
        }
    }

    public enum Answer: Sendable, Hashable {
        case acquired
        case held(Holder?)
        case renewed
        case lost(Holder?)
        case released
        case none
    }

    /// The folder, under the deploy user's home (`$HOME`; the login directory when unset).
    static func folder(_ environment: String) -> String {
        // Environment names are file names; anything else becomes `_` so the path stays one component.
        let safe = String(environment.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
        return ".marshal/locks/" + (safe.hasPrefix(".") ? "_" + safe : safe)
    }

    static func prelude(_ environment: String) -> String {
        "l=\"${HOME:-.}/.marshal/locks\"; d=\"$l\"/\(ShellQuote.quote(String(folder(environment).dropFirst(".marshal/locks/".count)))); f=\"$d/info\"; "
    }

    static let status = "echo \"now=$(date +%s)\"; cat \"$f\" 2>/dev/null"

    /// Takes the lock when the folder does not exist; says who holds it otherwise.
    public static func acquire(environment: String, holder: String, pid: Int32, runId: String, leaseSeconds: Int,
                               message: String? = nil) -> ShellCommand {
        // One field per line: the message is made one line first (`LockRecord.normalizedMessage`).
        let fields = ["holder=\(holder)", "pid=\(pid)", "run=\(runId)"]
            + (LockRecord.normalizedMessage(message).map { ["message=\($0)"] } ?? [])
        let info = fields.map(ShellQuote.quote).joined(separator: " ")
        return ShellCommand(literal: prelude(environment) + """
            mkdir -p "$l" && if mkdir "$d" 2>/dev/null; then \
            n=$(date +%s); printf '%s\\n' \(info) "since=$n" "lease_until=$((n + \(leaseSeconds)))" > "$f.tmp" && mv "$f.tmp" "$f" && echo ACQUIRED; \
            else echo HELD; \(status); fi
            """)
    }

    /// Extends the lease if `runId` still holds the lock.
    public static func renew(environment: String, runId: String, leaseSeconds: Int) -> ShellCommand {
        ShellCommand(literal: prelude(environment) + """
            if grep -qx \(ShellQuote.quote("run=\(runId)")) "$f" 2>/dev/null; then \
            n=$(date +%s); sed "s/^lease_until=.*/lease_until=$((n + \(leaseSeconds)))/" "$f" > "$f.tmp" && mv "$f.tmp" "$f" && echo RENEWED; \
            else echo LOST; \(status); fi
            """)
    }

    /// Removes the lock if `runId` holds it (nil: whoever holds it).
    public static func release(environment: String, runId: String?) -> ShellCommand {
        guard let runId else { return ShellCommand(literal: prelude(environment) + "rm -rf \"$d\" && echo RELEASED") }
        return ShellCommand(literal: prelude(environment) + """
            if grep -qx \(ShellQuote.quote("run=\(runId)")) "$f" 2>/dev/null; then rm -rf "$d" && echo RELEASED; else echo NONE; fi
            """)
    }

    /// Who holds the lock, if anyone.
    public static func inspect(environment: String) -> ShellCommand {
        ShellCommand(literal: prelude(environment) + "if [ -d \"$d\" ]; then echo HELD; \(status); else echo NONE; fi")
    }

    /// Reads a command's output.
    public static func parse(_ output: String) -> Answer? {
        let lines = output.split(separator: "\n").map(String.init)
        guard let first = lines.first else { return nil }
        var values: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        // A folder without its info yet is being taken right now: held, by someone not yet known.
        var holder: Holder?
        if let run = values["run"], let now = values["now"].flatMap(Int.init) {
            holder = Holder(holder: values["holder"] ?? "?", pid: values["pid"].flatMap(Int32.init) ?? 0, runId: run,
                            since: values["since"].flatMap(Int.init) ?? now, leaseUntil: values["lease_until"].flatMap(Int.init) ?? now,
                            hostNow: now, message: values["message"].flatMap { $0.isEmpty ? nil : $0 })
        }
        switch first {
        case "ACQUIRED": return .acquired
        case "HELD": return .held(holder)
        case "RENEWED": return .renewed
        case "LOST": return .lost(holder)
        case "RELEASED": return .released
        case "NONE": return HostLockCommands.Answer.none
        default: return nil
        }
    }
}
