/// The top-level keys of a runbook and of an environment file (the step kinds are in StepDeclarations).
public enum FileDeclarations {
    public static let version = KeyDeclaration("version", .choice(["1"]), required: true, "The file format version; this Marshal reads 1.")

    public static let param = ObjectShape("param", keys: [
        KeyDeclaration("type", .choice(ParamSpec.Kind.allCases.map(\.rawValue)), default: "string", "The value's type."),
        KeyDeclaration("required", .boolean, default: "false", "`-p NAME=VALUE` must be given (not with `default`)."),
        KeyDeclaration("default", .any, "Value when not given."),
        KeyDeclaration("description", .string, "Shown in docs and plans."),
        KeyDeclaration("choices", .list(.any), "The only values allowed."),
    ])

    public static let strategy = ObjectShape("strategy", keys: [
        KeyDeclaration("batches", .list(.anyOf([.integer(minimum: 1), .percent(minimum: 1)])), default: "[\"100%\"]",
                       "Batch sizes: host counts (1) or cumulative shares (\"50%\"); gates run after every batch."),
        KeyDeclaration("max_failures", .anyOf([.integer(minimum: 0), .percent(minimum: 0)]), default: "0", "Failed hosts tolerated: a count or \"10%\"."),
        KeyDeclaration("forks", .integer(minimum: 1), default: "50", "Hosts of a batch that run at once."),
    ])

    public static let requirement = ObjectShape("requires", keys: [
        KeyDeclaration("runbook", .string, required: true, "The name (`runbook:`) of the runbook that must have passed."),
        KeyDeclaration("environment", .string, default: "this run's environment", "The environment it must have passed on."),
        KeyDeclaration("params", .listOrOne(.string), "Params that must have had the same values there as in this run (e.g. release)."),
        KeyDeclaration("within", .duration, "How recently it must have finished (e.g. 24h); default: any time."),
    ])

    public static let runbook = ObjectShape("runbook", keys: [
        version,
        KeyDeclaration("runbook", .string, required: true, "The runbook's name."),
        KeyDeclaration("description", .string, "One line on what it does."),
        KeyDeclaration("params", .dictionary(.anyOf([.object(param), .string, .number, .boolean])),
                       "Name → declaration, or a bare default value."),
        KeyDeclaration("targets", .listOrOne(.string), default: "all", "Roles or host names (comma-separated or a list), or all."),
        KeyDeclaration("strategy", .object(strategy), "Batches and failure tolerance."),
        KeyDeclaration("preflight", .steps, "Read-only checks before anything changes; any failure stops the run."),
        KeyDeclaration("steps", .steps, required: true, "What the rollout does, in order."),
        KeyDeclaration("on_failure", .anyOf([.choice(["rollback", "stop", "abort"]), .object(ObjectShape("on_failure", keys: [
            KeyDeclaration("run", .template, required: true, "A runbook to run in the failed run (same lock and environment)."),
            KeyDeclaration("params", .dictionary(.any), "Its params; string values are templates over the failed run (`failed_run.id`, `steps.…`)."),
        ]))]), default: "stop", "What a failure does: stop, rollback (the `rollback:` list, else undo completed steps in reverse), or { run: RUNBOOK, params }."),
        KeyDeclaration("rollback", .steps, "Steps that roll back instead of the reverse-undo walk, in order, on every host the failed run touched."),
        KeyDeclaration("requires", .listOrOne(.object(requirement)),
                       "Passing runs this runbook needs before it starts, checked from the journal; missing: exit 3 naming what is missing."),
        KeyDeclaration("report", .object(ObjectShape("report", keys: [
            KeyDeclaration("template", .string, default: "optimization-results", "Template name (Templates/NAME.md) or file."),
            KeyDeclaration("baseline", .string, "Run to compare with: a run id or last-success."),
        ])), "The results document `--report` writes."),
    ])

    public static let ssh = ObjectShape("ssh", keys: [
        KeyDeclaration("user", .string, "Login user (a host's `user` overrides it)."),
        KeyDeclaration("identity", .string, "Private key file; a relative path is beside the environment file."),
        KeyDeclaration("passphrase_secret", .string, "Name of the secret holding the key's passphrase."),
        KeyDeclaration("agent", .boolean, default: "false", "Authenticate with ssh-agent."),
        KeyDeclaration("known_hosts", .string, default: "~/.ssh/known_hosts", "Known hosts file; a relative path is beside the environment file."),
        KeyDeclaration("host_key_checking", .choice(["strict", "accept-new"]), default: "strict", "It cannot be switched off."),
        KeyDeclaration("jump", .string, "A bastion (ProxyJump): a host of this file or an address."),
        KeyDeclaration("connect_timeout", .duration, default: "10s", "Time to connect and authenticate."),
        KeyDeclaration("keepalive_interval", .duration, default: "15s", "SSH keepalive interval; 0s switches keepalive off."),
        KeyDeclaration("keepalive_count", .integer(minimum: 1), default: "4", "Unanswered keepalives after which a host counts as not answering."),
    ])

    public static let host = ObjectShape("host", keys: [
        KeyDeclaration("address", .string, required: true, "IP address or DNS name."),
        KeyDeclaration("port", .integer(minimum: 1, maximum: 65535), default: "22", "SSH port."),
        KeyDeclaration("user", .string, "Login user for this host."),
        KeyDeclaration("roles", .listOrOne(.string), "Roles for `targets:` and `on:`."),
        KeyDeclaration("vars", .dictionary(.any), "This host's variables (they override the environment's)."),
        KeyDeclaration("transport", .choice(Transport.allCases.map(\.rawValue)), "ssh or local for this host."),
    ])

    public static let secret = ObjectShape("secret", keys: [
        KeyDeclaration("env", .string, "Read from this environment variable."),
        KeyDeclaration("file", .string, "Read from this file (relative: beside the environment file)."),
    ], exactlyOneOf: ["env", "file"])

    public static let environment = ObjectShape("environment", keys: [
        version,
        KeyDeclaration("environment", .string, required: true, "The environment's name."),
        KeyDeclaration("description", .string, "One line about it."),
        KeyDeclaration("protected", .boolean, default: "false", "Runs ask for confirmation (or --yes)."),
        KeyDeclaration("transport", .choice(Transport.allCases.map(\.rawValue)), default: "ssh", "How hosts are reached."),
        KeyDeclaration("state", .anyOf([.string, .object(ObjectShape("state", keys: [
            KeyDeclaration("env", .string, required: true, "The environment variable holding the PostgreSQL URL."),
        ]))]), default: ".marshal", "Where the journal lives: a folder, a PostgreSQL URL without password, or { env: VARIABLE }."),
        KeyDeclaration("lock_host", .string, default: "the first host", "The host that also holds the environment lock (embedded state)."),
        KeyDeclaration("ssh", .object(ssh), "How to reach hosts over SSH."),
        KeyDeclaration("vars", .dictionary(.any), "Variables for templates (values are plain data, not templates)."),
        KeyDeclaration("secrets", .dictionary(.object(secret)), "Name → where its value comes from; values are never written in the file."),
        KeyDeclaration("hosts", .dictionary(.object(host)), required: true, "Host name → how to reach it."),
    ])
}
