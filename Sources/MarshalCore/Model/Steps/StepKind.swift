/// What a step does, with the settings of that kind.
public enum StepKind: Sendable, Hashable {
    case shell(ShellStep)
    case upload(UploadStep)
    case release(ReleaseStep)
    case service(ServiceStep)
    case migrate(MigrateStep)
    case backup(BackupStep)
    case restore(RestoreStep)
    case sql(SQLStep)
    case http(HTTPStep)
    case health(HTTPStep)
    case benchmark(BenchmarkStep)
    case probe(ProbeStep)
    case metric(MetricStep)
    case redis(RedisStep)
    case soak(SoakStep)
    case approve(ApproveStep)
    case wait(WaitStep)
    case notify(NotifyStep)
    case include(IncludeStep)

    /// Every kind's key, as written in a runbook.
    public static let names = [
        "shell", "upload", "release", "service", "migrate", "backup", "restore", "sql", "http", "health",
        "benchmark", "probe", "metric", "redis", "soak", "approve", "wait", "notify", "include",
    ]

    public var name: String {
        switch self {
        case .shell: "shell"
        case .upload: "upload"
        case .release: "release"
        case .service: "service"
        case .migrate: "migrate"
        case .backup: "backup"
        case .restore: "restore"
        case .sql: "sql"
        case .http: "http"
        case .health: "health"
        case .benchmark: "benchmark"
        case .probe: "probe"
        case .metric: "metric"
        case .redis: "redis"
        case .soak: "soak"
        case .approve: "approve"
        case .wait: "wait"
        case .notify: "notify"
        case .include: "include"
        }
    }

    /// Kinds that only read or wait: nothing to undo, safe to re-run.
    public var isApprove: Bool {
        if case .approve = self { true } else { false }
    }

    /// Steps `--approve` can name: approve steps, and gates that pause when they get no data.
    public var canBeApproved: Bool {
        switch self {
        case .approve: true
        case .sql(let s): s.onNoData == .pause
        case .probe(let p): p.onNoData == .pause
        case .metric(let m): m.onNoData == .pause
        case .redis(let r): r.onNoData == .pause
        case .benchmark(let b): b.onNoData == .pause
        default: false
        }
    }

    public var isReadOnly: Bool {
        switch self {
        case .health, .probe, .metric, .redis, .wait, .benchmark, .soak, .approve: true
        case .http(let h): h.method == "GET" || h.method == "HEAD"
        case .sql(let s): s.isReadOnly
        default: false
        }
    }

    /// Kinds for which an `undo` makes no sense (they change nothing).
    public var acceptsUndo: Bool {
        switch self {
        case .health, .probe, .metric, .redis, .wait, .benchmark, .soak, .approve, .notify: false
        case .http(let h): !(h.method == "GET" || h.method == "HEAD")
        case .sql(let s): !s.isReadOnly
        default: true
        }
    }

    /// Kinds that, without `on:`, run once from this machine rather than on each target host.
    /// The checks that run a command on a host (and so need one): probe and sql.
    public var runsCommandOnHost: Bool {
        switch self {
        case .probe, .sql: true
        default: false
        }
    }

    public var runsFromController: Bool {
        switch self {
        case .wait, .approve, .notify, .benchmark, .http, .health, .metric, .redis, .soak, .include: true
        default: false
        }
    }
}
