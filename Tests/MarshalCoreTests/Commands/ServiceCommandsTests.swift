import MarshalCore
import Testing

/// pm2 and systemd cannot run here (no npm registry, no systemd in containers), so their command
/// builders are held to exact strings; supervisor is also exercised for real in the lab tests.
@Suite("Service command builders")
struct ServiceCommandsTests {
    @Test("pm2: the action, then jlist for machine-readable evidence")
    func pm2() {
        #expect(ServiceCommands.command(manager: .pm2, action: .reload, name: "tpe-backend").display == "pm2 reload tpe-backend && pm2 jlist")
        #expect(ServiceCommands.command(manager: .pm2, action: .status, name: "tpe-backend").display == "pm2 jlist")
        #expect(ServiceCommands.command(manager: .pm2, action: .restart, name: "my app").display == "pm2 restart 'my app' && pm2 jlist")
    }

    @Test("systemd: the action, then systemctl show of the state properties")
    func systemd() {
        #expect(ServiceCommands.command(manager: .systemd, action: .restart, name: "app.service").display
                == "systemctl restart app.service && systemctl show --no-pager --property=ActiveState,SubState,MainPID,NRestarts,ActiveEnterTimestamp app.service")
    }

    @Test("supervisor: reload is a restart of the program; -c only when a config is given")
    func supervisor() {
        #expect(ServiceCommands.command(manager: .supervisor, action: .reload, name: "app").display == "supervisorctl restart app && supervisorctl status app")
        #expect(ServiceCommands.command(manager: .supervisor, action: .stop, name: "app", config: "/etc/s.conf").display
                == "supervisorctl -c /etc/s.conf stop app && supervisorctl -c /etc/s.conf status app")
        #expect(ServiceCommands.command(manager: .supervisor, action: .status, name: "app", config: "").display == "supervisorctl status app")
    }

    @Test("release commands switch current atomically with a rename")
    func release() {
        #expect(ReleaseCommands.switchCurrent(path: "/srv/app", releaseID: "v2").display
                == "set -e; cd /srv/app; test -d releases/v2; ln -sfn releases/v2 current.marshal-tmp && mv -T current.marshal-tmp current")
    }
}
