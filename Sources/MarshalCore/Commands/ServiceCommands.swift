/// Command builders for process managers: pure functions returning the exact shell text.
/// Tested by exact string; executing them is the orchestrator's job.
public enum ServiceCommands {
    public static func command(manager: ServiceStep.Manager, action: ServiceStep.Action, name: String, config: String? = nil) -> ShellCommand {
        let q = ShellCommand.Fragment.quoted(name)
        switch manager {
        case .pm2:
            switch action {
            // `pm2 jlist` gives machine-readable state after every action, for evidence.
            case .status: return ShellCommand([.literal("pm2 jlist")])
            default: return ShellCommand([.literal("pm2 \(action.rawValue) "), q, .literal(" && pm2 jlist")])
            }
        case .systemd:
            let show = "systemctl show --no-pager --property=ActiveState,SubState,MainPID,NRestarts,ActiveEnterTimestamp "
            switch action {
            case .status: return ShellCommand([.literal(show), q])
            default: return ShellCommand([.literal("systemctl \(action.rawValue) "), q, .literal(" && " + show), q])
            }
        case .supervisor:
            var base: [ShellCommand.Fragment] = [.literal("supervisorctl ")]
            if let config, !config.isEmpty { base += [.literal("-c "), .quoted(config), .literal(" ")] }
            // supervisorctl has no reload of one program; a reload is a restart of that program.
            let verb = action == .reload ? "restart" : action.rawValue
            switch action {
            case .status: return ShellCommand(base + [.literal("status "), q])
            default: return ShellCommand(base + [.literal("\(verb) "), q, .literal(" && ")] + base + [.literal("status "), q])
            }
        }
    }
}
