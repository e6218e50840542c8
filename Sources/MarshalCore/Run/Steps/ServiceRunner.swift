/// `service`: start/stop/restart/reload/status through pm2, systemd or supervisor; the manager's
/// own report (pm2 jlist, systemctl show, supervisorctl status) is parsed into evidence.
enum ServiceRunner {
    static func run(_ service: ServiceStep, on executor: any RemoteExecutor, timeout: Duration?, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let managerName = try context.render(service.manager).plainValue
        guard let manager = ServiceStep.Manager(rawValue: managerName) else {
            throw StepFailure("'manager' rendered to '\(managerName)'; expected pm2, systemd or supervisor", at: service.manager.location)
        }
        let name = try context.render(service.name).plainValue
        let config = try service.config.map { (t: TemplateString) throws(StepFailure) in try context.render(t).plainValue }
        let command = ServiceCommands.command(manager: manager, action: service.action, name: name, config: config)
        var (outcome, result) = await RemoteCommand.run(command, on: executor, timeout: timeout, context: context)
        guard let result else { return outcome }
        let states = ServiceStatusParser.parse(manager: manager, output: result.stdoutText)
        let mine = states.first { $0.name == name } ?? states.first
        if let mine {
            outcome.evidence = .record([
                "name": .string(mine.name), "state": .string(mine.state),
                "pid": mine.pid.map { .number(Double($0)) } ?? .null,
                "uptime": mine.uptime.map { .string($0) } ?? .null,
                "restarts": mine.restarts.map { .number(Double($0)) } ?? .null,
            ])
        }
        // supervisorctl exits non-zero from `status` when a program is not running: judge by state.
        let wantsRunning = [.start, .restart, .reload].contains(service.action)
        if service.action == .stop, let mine {
            // `supervisorctl status` exits non-zero for a stopped program: judge a stop by the state.
            let stopped = ["STOPPED", "EXITED", "stopped", "inactive", "failed"].contains(mine.state)
            outcome.status = stopped ? .succeeded : .failed
            outcome.message = stopped ? "\(name) is \(mine.state)" : "\(manager.rawValue): \(name) is \(mine.state) after stop"
        } else if wantsRunning, let mine, !mine.isRunning {
            outcome.status = .failed
            outcome.message = "\(manager.rawValue): \(name) is \(mine.state) after \(service.action.rawValue)"
        } else if service.action == .status, outcome.status == .failed, mine != nil {
            outcome.status = .succeeded
            outcome.message = "\(name) is \(mine!.state)"
        } else if outcome.status == .succeeded, let mine {
            outcome.message = "\(name) is \(mine.state)" + (mine.pid.map { " (pid \($0))" } ?? "")
        }
        return outcome
    }
}

/// The state of one program as a process manager reports it.
public struct ServiceState: Sendable, Hashable {
    public var name: String
    public var state: String
    public var pid: Int?
    public var uptime: String?
    public var restarts: Int?
    public var isRunning: Bool { ["RUNNING", "online", "active"].contains(state) }
}

/// Parsers for process managers' status output, tested against recorded output.
public enum ServiceStatusParser {
    public static func parse(manager: ServiceStep.Manager, output: String) -> [ServiceState] {
        switch manager {
        case .supervisor: supervisor(output)
        case .pm2: pm2(output)
        case .systemd: systemd(output)
        }
    }

    /// `app                              RUNNING   pid 123, uptime 0:01:02`
    public static func supervisor(_ output: String) -> [ServiceState] {
        output.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard parts.count >= 2, parts[1] == parts[1].uppercased(), parts[1].allSatisfy({ $0.isLetter }) else { return nil }
            var state = ServiceState(name: parts[0], state: parts[1])
            if let pidIndex = parts.firstIndex(of: "pid"), pidIndex + 1 < parts.count {
                state.pid = Int(parts[pidIndex + 1].trimmingCharacters(in: CharacterSet(charactersIn: ",")))
            }
            if let uptimeIndex = parts.firstIndex(of: "uptime"), uptimeIndex + 1 < parts.count { state.uptime = parts[uptimeIndex + 1] }
            return state
        }
    }

    /// `pm2 jlist`: a JSON array of processes with `name`, `pid`, `pm2_env.status`, `pm2_env.restart_time`, `pm2_env.pm_uptime`.
    public static func pm2(_ output: String) -> [ServiceState] {
        // pm2 may print log lines ("[PM2] Spawning…") before the JSON: take the first line that parses as a JSON array.
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard case .array(let items)? = lines.lazy.filter({ $0.hasPrefix("[") }).compactMap({ ExprValue.fromJSON(Array($0.utf8)) })
            .first(where: { if case .array = $0 { true } else { false } }) else { return [] }
        return items.compactMap { item in
            guard case .object(let process) = item, case .string(let name)? = process["name"] else { return nil }
            var state = ServiceState(name: name, state: "unknown")
            if case .number(let pid)? = process["pid"] { state.pid = Int(pid) }
            if case .object(let env)? = process["pm2_env"] {
                if case .string(let status)? = env["status"] { state.state = status }
                if case .number(let restarts)? = env["restart_time"] { state.restarts = Int(restarts) }
                if case .number(let since)? = env["pm_uptime"] { state.uptime = "since \(Int(since / 1000))" }
            }
            return state
        }
    }

    /// `systemctl show --property=ActiveState,SubState,MainPID,NRestarts,ActiveEnterTimestamp UNIT`
    public static func systemd(_ output: String) -> [ServiceState] {
        var properties: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            properties[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        guard let active = properties["ActiveState"] else { return [] }
        var state = ServiceState(name: properties["Id"] ?? "unit", state: active)
        state.pid = properties["MainPID"].flatMap(Int.init).flatMap { $0 == 0 ? nil : $0 }
        state.restarts = properties["NRestarts"].flatMap(Int.init)
        state.uptime = properties["ActiveEnterTimestamp"].flatMap { $0.isEmpty ? nil : "since \($0)" }
        return [state]
    }
}

import Foundation
