/// One step kind as a reader of the reference needs it: its keys (from which the decoder, the
/// schema and the docs all read), its short form, where it runs, what it records and how it is undone.
public struct StepKindDeclaration: Sendable, Hashable {
    public var name: String
    public var summary: String
    /// The scalar form (`shell: "cmd"`, `wait: 30s`), and what the scalar means.
    public var shorthand: (shape: ValueShape, meaning: String)?
    public var object: ObjectShape
    public var runs: String
    public var evidence: String
    public var undo: String
    /// A step using this kind; `marshal docs` prints it and a test validates it.
    public var example: String

    /// `keys` are the kind's own; `on` (which every kind but include accepts) is added after them.
    public init(_ name: String, summary: String, shorthand: (shape: ValueShape, meaning: String)? = nil,
                keys: [KeyDeclaration], exactlyOneOf: [String] = [], atLeastOneOf: [String] = [], placedByOn: Bool = true,
                runs: ReferenceSentence, evidence: String, undo: ReferenceSentence = .byItsUndoStep, example: String) {
        self.name = name
        self.summary = summary
        self.shorthand = shorthand
        self.object = ObjectShape(name, keys: keys + (placedByOn ? [StepDeclarations.onKey] : []), exactlyOneOf: exactlyOneOf,
                                  atLeastOneOf: atLeastOneOf)
        self.runs = runs.text
        self.evidence = evidence
        self.undo = undo.text
        self.example = example
    }

    public static func == (a: StepKindDeclaration, b: StepKindDeclaration) -> Bool { a.name == b.name && a.object == b.object }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
}

public enum StepDeclarations {
    /// `on:` inside a kind's mapping, which every kind accepts (StepKindDeclaration adds it).
    static let onKey = KeyDeclaration("on", .listOrOne(.string), "Hosts or roles to run on, once, in the first batch (same as the step's own `on`).")
    static let noData = KeyDeclaration("on_no_data", .choice(NoDataPolicy.allCases.map(\.rawValue)), default: "fail",
                                       "What a check that measured nothing does: fail the run, pause for `--approve`, or pass.")
    static let over = KeyDeclaration("over", .string,
                                     "Measure at the start and end of a window: a duration (`60s`) or the id of an earlier step (its span, e.g. a load test's); `delta(x)` and `rate(x)` (per second; compare with `100/min`) use both ends.")
    static let database = KeyDeclaration("database", .template, required: true, "PostgreSQL connection string, usually `{{ secrets.NAME }}`.")

    /// Keys every step may have, besides its one kind key.
    public static let common = ObjectShape("step", keys: [
        KeyDeclaration("id", .identifier, "Identifier (letters, digits, _) for `steps.ID.…` references and `--approve`."),
        KeyDeclaration("name", .string, "What the output, journal and report call the step (default: derived from the kind)."),
        KeyDeclaration("on", .listOrOne(.string), "Hosts or roles to run on, once, during the first batch (default: every host of each batch)."),
        KeyDeclaration("every_batch", .boolean, default: "false", "With `on:`: run after every batch, not only in the first (a per-batch gate on the database or a queue host)."),
        KeyDeclaration("when", .expression, "Run only when this is true (else the step is skipped)."),
        KeyDeclaration("retries", .integer(minimum: 0), default: "0", "Extra attempts after a failure."),
        KeyDeclaration("delay", .duration, default: "1s", "Pause between attempts."),
        KeyDeclaration("until", .expression, "Retry until this is true (over the step's evidence)."),
        KeyDeclaration("timeout", .duration, "Stop the step after this long (it fails)."),
        KeyDeclaration("register", .identifier, "Also keep the evidence under this name, for `steps.NAME.…`."),
        KeyDeclaration("undo", .step, "A step that reverses this one on rollback: one step, not an include (not on kinds that change nothing)."),
        KeyDeclaration("ignore_failure", .boolean, default: "false", "A failure is recorded but does not stop the run."),
        KeyDeclaration("label", .string, "What a gate measures, in words (`Cache hit rate`): its name in the report's Targets, JUnit and `marshal show`."),
        KeyDeclaration("idempotent", .boolean, default: "false", "Safe to run twice: `resume` re-runs it if it was in flight."),
        KeyDeclaration("undo_on_failure", .boolean, default: "false (true for a per-file migrate that committed files)",
                       "Run the `undo` also when this step failed, for what it changed before failing."),
    ])

    static let httpExpect = ValueShape.anyOf([
        .integer(minimum: 100), .expression,
        .object(ObjectShape("expectation", keys: [
            KeyDeclaration("status", .listOrOne(.integer(minimum: 100)), default: "200", "Accepted status codes."),
            KeyDeclaration("json", .dictionary(.any), "JSON path (`$.status`) → the value it must equal (strings may be templates)."),
            KeyDeclaration("body_contains", .string, "Text the body must contain."),
            KeyDeclaration("that", .expression, "An expression over `status`, `headers.*`, `body`, `$…`, `duration`."),
        ])),
    ])

    static func httpKind(_ name: String, summary: String, example: String) -> StepKindDeclaration {
        StepKindDeclaration(
            name, summary: summary,
            shorthand: (.template, "the URL; expects status 200"),
            keys: [
                KeyDeclaration("url", .template, required: true, "The URL to request."),
                KeyDeclaration("method", .choice(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]), default: "GET", "HTTP method (any case)."),
                KeyDeclaration("headers", .dictionary(.template), "Request headers."),
                KeyDeclaration("body", .template, "Request body as text (not with `json`)."),
                KeyDeclaration("json", .any, "Request body as JSON (not with `body`)."),
                KeyDeclaration("expect", httpExpect, default: "status 200", "What the response must show: a status, an expression, or a mapping."),
                KeyDeclaration("within", .durationOrTemplate, "Keep trying until the expectation holds or this time has passed (a template such as \"{{ params.within }}\" is rendered when the run starts)."),
                KeyDeclaration("interval", .duration, default: "1s", "Pause between tries within `within`."),
                KeyDeclaration("request_timeout", .duration, default: "10s", "Timeout of one request."),
                KeyDeclaration("insecure", .boolean, default: "false", "Accept any TLS certificate (test systems only)."),
            ],
            runs: "From this machine, once per target host with that host's variables (`{{ host.vars.base_url }}`).",
            evidence: "`status`, `duration` (seconds), `body` (first 4 KiB), `json` (the parsed body, when it is JSON); each attempt is a measurement.",
            undo: name == "health" ? "None: a health check changes nothing." : "A GET or HEAD changes nothing; give other methods an `undo` step when they change something.",
            example: example)
    }

    /// Every built-in kind's declaration, in the registry's order.
    public static var kinds: [StepKindDeclaration] { StepKindRegistry.builtIn.declarations }

    /// Threshold metric names a benchmark accepts.
    public static let thresholdMetrics = LoadStats.metricNames.filter { $0 != "mean" }

    public static func kind(_ name: String) -> StepKindDeclaration? { kinds.first { $0.name == name } }
}
