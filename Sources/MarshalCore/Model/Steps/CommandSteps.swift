/// `shell: "cmd"` or `shell: { command: …, chdir: …, raw: true }`.
public struct ShellStep: Sendable, Hashable {
    public var command: TemplateString
    public var chdir: TemplateString?
    public init(command: TemplateString, chdir: TemplateString? = nil) {
        self.command = command
        self.chdir = chdir
    }
}

/// `upload: { src: local, dest: remote, mode: "0644" }`.
public struct UploadStep: Sendable, Hashable {
    public var source: TemplateString
    public var destination: TemplateString
    public var mode: Int32
    public init(source: TemplateString, destination: TemplateString, mode: Int32 = 0o644) {
        self.source = source
        self.destination = destination
        self.mode = mode
    }
}

/// Run a command, extract one number (regex group 1, or a JSON path), hold it to `expect`.
public struct ProbeStep: Sendable, Hashable {
    public enum Extract: Sendable, Hashable {
        case regex(String)
        case jsonPath(String)
        case wholeOutput
    }
    public var command: TemplateString
    public var extract: Extract
    public var expect: Expression?
    public var onNoData: NoDataPolicy
    public init(command: TemplateString, extract: Extract, expect: Expression?, onNoData: NoDataPolicy = .fail) {
        self.command = command
        self.extract = extract
        self.expect = expect
        self.onNoData = onNoData
    }
}

/// What a gate that measured nothing does to the run.
public enum NoDataPolicy: String, Sendable, Hashable, CaseIterable { case fail, pause, pass }
