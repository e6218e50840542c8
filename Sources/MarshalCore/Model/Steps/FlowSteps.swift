/// Pause until an operator approves (`--approve NAME` or interactively).
public struct ApproveStep: Sendable, Hashable {
    public var message: TemplateString?
    public init(message: TemplateString?) { self.message = message }
}

public struct WaitStep: Sendable, Hashable {
    public var duration: Duration
    public init(duration: Duration) { self.duration = duration }
}

/// A webhook POST at chosen moments; never fails the run by itself.
public struct NotifyStep: Sendable, Hashable {
    public enum Event: String, Sendable, Hashable, CaseIterable { case start, failure, rollback, success, now }
    public var url: TemplateString
    public var events: [Event]
    public var body: ConfigValue?
    public var timeout: Duration
    public init(url: TemplateString, events: [Event] = [.now], body: ConfigValue? = nil, timeout: Duration = .seconds(5)) {
        self.url = url
        self.events = events
        self.body = body
        self.timeout = timeout
    }
}

/// Run the steps of another runbook here, with params given.
public struct IncludeStep: Sendable, Hashable {
    public var runbook: String
    public var params: [ConfigEntry]
    public var location: SourceLocation
    public init(runbook: String, params: [ConfigEntry], location: SourceLocation) {
        self.runbook = runbook
        self.params = params
        self.location = location
    }
}
