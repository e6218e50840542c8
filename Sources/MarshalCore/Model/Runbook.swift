/// A runbook file: parameters, where it runs, in which batches, and its steps.
public struct Runbook: Sendable, Hashable {
    public var name: String
    public var path: String
    public var location: SourceLocation
    public var description: String?
    public var params: [ParamSpec]
    public var targets: TargetSelector
    public var strategy: Strategy
    public var preflight: [Step]
    public var steps: [Step]
    public var onFailure: FailurePolicy
    /// Runbook-level rollback: these steps run, in this order, across every host the failed run
    /// touched, instead of undoing completed steps in reverse. Empty: the reverse-undo walk.
    public var rollback: [Step] = []
    public var report: ReportSpec?
    /// Passing runs of other runbooks this one needs before it starts (checked from the journal).
    public var requires: [Requirement] = []

    /// Every step the runbook holds, in the order they can run: preflight, steps, its `rollback:` list.
    public var everyStep: [Step] { preflight + steps + rollback }

    public init(
        name: String, path: String, location: SourceLocation, description: String? = nil,
        params: [ParamSpec] = [], targets: TargetSelector, strategy: Strategy = Strategy(),
        preflight: [Step] = [], steps: [Step] = [], onFailure: FailurePolicy = .stop, report: ReportSpec? = nil
    ) {
        self.name = name
        self.path = path
        self.location = location
        self.description = description
        self.params = params
        self.targets = targets
        self.strategy = strategy
        self.preflight = preflight
        self.steps = steps
        self.onFailure = onFailure
        self.report = report
    }

    public func param(named name: String) -> ParamSpec? { params.first { $0.name == name } }
}

public struct ParamSpec: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable { case string, int, number, bool, duration }
    public var name: String
    public var kind: Kind
    public var required: Bool
    public var defaultValue: ConfigValue?
    public var description: String?
    /// Allowed values, if the runbook restricts them.
    public var choices: [String]?
    public var location: SourceLocation

    public init(name: String, kind: Kind = .string, required: Bool = false, defaultValue: ConfigValue? = nil,
                description: String? = nil, choices: [String]? = nil, location: SourceLocation) {
        self.name = name
        self.kind = kind
        self.required = required
        self.defaultValue = defaultValue
        self.description = description
        self.choices = choices
        self.location = location
    }
}

/// Which hosts a runbook or step runs on: a role, a host name, a list of either, or all hosts.
public struct TargetSelector: Sendable, Hashable, CustomStringConvertible {
    public enum Term: Sendable, Hashable { case all, name(String) }
    public var terms: [Term]
    public var location: SourceLocation

    public init(_ terms: [Term], at location: SourceLocation) {
        self.terms = terms
        self.location = location
    }

    public static func all(at location: SourceLocation) -> TargetSelector { TargetSelector([.all], at: location) }

    public var description: String {
        terms.map { if case .name(let n) = $0 { n } else { "all" } }.joined(separator: ", ")
    }

    /// Hosts selected, in environment order. A name matches a host name or a role.
    public func resolve(in environment: Environment) -> [HostSpec] {
        environment.hosts.filter { host in
            terms.contains { term in
                switch term {
                case .all: true
                case .name(let n): host.name == n || host.roles.contains(n)
                }
            }
        }
    }

    /// Names that are neither a host nor a role of the environment.
    public func unknownNames(in environment: Environment) -> [String] {
        terms.compactMap { term in
            guard case .name(let n) = term else { return nil }
            return environment.host(named: n) == nil && !environment.roles.contains(n) ? n : nil
        }
    }
}

public struct Strategy: Sendable, Hashable {
    public var batches: [BatchSize]
    public var maxFailures: FailureLimit
    /// How many hosts of a batch run at once.
    public var forks: Int

    public init(batches: [BatchSize] = [.percent(100)], maxFailures: FailureLimit = .count(0), forks: Int = 50) {
        self.batches = batches
        self.maxFailures = maxFailures
        self.forks = forks
    }
}

public enum BatchSize: Sendable, Hashable, CustomStringConvertible {
    case count(Int)
    /// Cumulative share of all target hosts reached by the end of this batch.
    case percent(Int)

    public var description: String {
        switch self {
        case .count(let n): "\(n)"
        case .percent(let p): "\(p)%"
        }
    }
}

public enum FailureLimit: Sendable, Hashable, CustomStringConvertible {
    case count(Int)
    case percent(Int)

    /// The number of failed hosts tolerated out of `total`; the rollout stops at one more.
    public func tolerated(outOf total: Int) -> Int {
        switch self {
        case .count(let n): n
        case .percent(let p): (total * p) / 100
        }
    }

    public var description: String {
        switch self {
        case .count(let n): "\(n)"
        case .percent(let p): "\(p)%"
        }
    }
}

public enum FailurePolicy: Sendable, Hashable {
    case stop
    case rollback
    /// `{ run: RUNBOOK, params: {…} }`: that runbook runs in this run (same lock, environment),
    /// its params templated from the failed run; its outcome decides the run's status.
    case run(runbook: TemplateString, params: [ConfigEntry] = [])

    /// The `run:` runbook and its params when the name is written out, not a template: what can be
    /// checked and journaled before the run.
    public var writtenOutRun: (runbook: String, location: SourceLocation, params: [ConfigEntry])? {
        guard case .run(let runbook, let params) = self, TemplateSyntax(runbook).placeholders.isEmpty else { return nil }
        return (runbook.source, runbook.location, params)
    }
}

public struct ReportSpec: Sendable, Hashable {
    public var template: String
    public var baseline: String?
    public var location: SourceLocation

    public init(template: String, baseline: String?, location: SourceLocation) {
        self.template = template
        self.baseline = baseline
        self.location = location
    }
}
