import MarshalCore
import Testing

/// pm2 cannot be installed here (no npm registry) and containers have no systemd, so their output
/// parsers are held to recorded output; supervisor's is also exercised for real by the demo lab.
@Suite("Process manager output")
struct ServiceStatusParserTests {
    /// Recorded from `pm2 jlist` (pm2 5.3), trimmed to the fields Marshal reads; pm2 may print a
    /// line before the JSON, which must be skipped.
    static let pm2JList = """
    [PM2] Spawning PM2 daemon with pm2_home=/home/deploy/.pm2
    [{"pid":48213,"name":"tpe-backend","pm_id":0,"monit":{"memory":81264640,"cpu":0.3},"pm2_env":{"status":"online","restart_time":4,"pm_uptime":1760497200000,"unstable_restarts":0}},{"pid":0,"name":"worker","pm_id":1,"pm2_env":{"status":"stopped","restart_time":0,"pm_uptime":1760490000000}}]
    """

    /// Recorded from `systemctl show --no-pager --property=ActiveState,SubState,MainPID,NRestarts,ActiveEnterTimestamp app.service`.
    static let systemctlShow = """
    MainPID=1234
    NRestarts=2
    ActiveState=active
    SubState=running
    ActiveEnterTimestamp=Wed 2025-10-15 09:12:03 UTC
    """

    /// Recorded from `supervisorctl status` (supervisor 4.2).
    static let supervisorStatus = """
    app                              RUNNING   pid 20916, uptime 0:01:02
    worker                           STOPPED   Oct 15 09:12 AM
    """

    @Test("pm2 jlist: name, state, pid and restarts of each process, after a log line")
    func pm2() {
        let states = ServiceStatusParser.pm2(Self.pm2JList)
        #expect(states.map(\.name) == ["tpe-backend", "worker"])
        #expect(states[0].state == "online" && states[0].isRunning)
        #expect(states[0].pid == 48213)
        #expect(states[0].restarts == 4)
        #expect(states[1].state == "stopped" && !states[1].isRunning)
    }

    @Test("systemctl show: active/running with its main pid and restart count")
    func systemd() throws {
        let state = try #require(ServiceStatusParser.systemd(Self.systemctlShow).first)
        #expect(state.state == "active" && state.isRunning)
        #expect(state.pid == 1234)
        #expect(state.restarts == 2)
        #expect(state.uptime == "since Wed 2025-10-15 09:12:03 UTC")
    }

    @Test("supervisorctl status: RUNNING with pid and uptime; STOPPED without")
    func supervisor() {
        let states = ServiceStatusParser.supervisor(Self.supervisorStatus)
        #expect(states.map(\.name) == ["app", "worker"])
        #expect(states[0].isRunning && states[0].pid == 20916 && states[0].uptime == "0:01:02")
        #expect(states[1].state == "STOPPED" && states[1].pid == nil)
    }

    @Test("output that is not what the manager prints yields no state, not a guess")
    func garbage() {
        #expect(ServiceStatusParser.pm2("error: pm2 not found").isEmpty)
        #expect(ServiceStatusParser.systemd("Failed to connect to bus").isEmpty)
        #expect(ServiceStatusParser.supervisor("unix:///tmp/s.sock no such file").isEmpty)
    }
}
