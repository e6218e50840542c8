/// `requires: { runbook: validation, environment: staging, params: [release], within: 24h }`:
/// a passing run of another runbook that must be in the journal before this runbook starts
/// (promotion: production only after staging validated the same release).
public struct Requirement: Sendable, Hashable {
    public var runbook: String
    /// nil: the environment this run targets.
    public var environment: String?
    /// Params whose values must be the same in the required run as in this one.
    public var params: [String]
    /// How recent the passing run must be (by its end); nil: any age.
    public var within: Duration?
    public var location: SourceLocation

    public init(runbook: String, environment: String? = nil, params: [String] = [], within: Duration? = nil, location: SourceLocation) {
        self.runbook = runbook
        self.environment = environment
        self.params = params
        self.within = within
        self.location = location
    }
}
