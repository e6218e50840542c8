import Foundation
import MarshalCore
import Yams

/// Reads runbook and environment files into typed models, with every problem as a diagnostic.
public struct Loader: Sendable {
    /// The project root: `Runbooks/NAME.yml` and `Environments/NAME.yml` are found under it.
    public var root: String
    /// The step kinds runbooks may use (a program or test may add its own).
    public var kinds: StepKindRegistry

    public init(root: String = FileManager.default.currentDirectoryPath, kinds: StepKindRegistry = .builtIn) {
        self.root = root
        self.kinds = kinds
    }

    public enum Document: Sendable {
        case runbook(Runbook)
        case environment(Environment)
    }

    public struct Loaded<Value: Sendable>: Sendable {
        public var value: Value?
        public var diagnostics: [Diagnostic]
        public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
    }

    // MARK: Finding files

    /// A runbook given as a name (`production-rollout`) or a path.
    public func runbookPath(_ nameOrPath: String) -> String {
        resolve(nameOrPath, folder: "Runbooks")
    }

    /// An environment given as a name (`local`) or a path.
    public func environmentPath(_ nameOrPath: String) -> String {
        resolve(nameOrPath, folder: "Environments")
    }

    private func resolve(_ nameOrPath: String, folder: String) -> String {
        let fm = FileManager.default
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".yml") || nameOrPath.hasSuffix(".yaml") {
            if fm.fileExists(atPath: nameOrPath) { return nameOrPath }
            let inFolder = "\(root)/\(folder)/\(nameOrPath)"
            return fm.fileExists(atPath: inFolder) ? inFolder : nameOrPath
        }
        for ext in ["yml", "yaml"] {
            let candidate = "\(root)/\(folder)/\(nameOrPath).\(ext)"
            if fm.fileExists(atPath: candidate) { return candidate }
        }
        return "\(folder)/\(nameOrPath).yml"
    }

    /// Expands folders to the YAML files inside them (sorted), keeps files as given.
    public func expand(_ paths: [String]) -> (files: [String], diagnostics: [Diagnostic]) {
        var files: [String] = []
        var diagnostics: [Diagnostic] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
                diagnostics.append(Diagnostic(.error, at: SourceLocation(file: path, line: 0, column: 0), "no such file or folder"))
                continue
            }
            if isDirectory.boolValue {
                let found = (fm.enumerator(atPath: path)?.compactMap { $0 as? String } ?? [])
                    .filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }
                    .sorted()
                    .map { path.hasSuffix("/") ? path + $0 : path + "/" + $0 }
                files.append(contentsOf: found)
            } else {
                files.append(path)
            }
        }
        return (files, diagnostics)
    }

    // MARK: Loading

    public func loadDocument(path: String) -> Loaded<Document> {
        load(path: path) { reader, node -> Document? in
            guard case .mapping(let mapping) = node else {
                reader.error("expected a runbook (with 'runbook:') or an environment (with 'environment:'), found \(reader.describe(node))", at: node)
                return nil
            }
            let keys = mapping.compactMap { $0.key.string }
            if keys.contains("runbook") || keys.contains("steps") {
                return RunbookDecoder(reader: reader, path: path).decode(node).map { .runbook($0) }
            }
            if keys.contains("environment") || keys.contains("hosts") {
                return EnvironmentDecoder(reader: reader, path: path).decode(node).map { .environment($0) }
            }
            reader.error("cannot tell what this file is: a runbook has 'runbook:' and 'steps:', an environment has 'environment:' and 'hosts:'", at: node)
            return nil
        }
    }

    public func loadRunbook(path: String) -> Loaded<Runbook> {
        load(path: path) { reader, node in RunbookDecoder(reader: reader, path: path).decode(node) }
    }

    /// A runbook from text kept elsewhere (a run's journal); `path` names it in diagnostics.
    public func loadRunbook(path: String, text: String) -> Loaded<Runbook> {
        load(path: path, text: text) { reader, node in RunbookDecoder(reader: reader, path: path).decode(node) }
    }

    public func loadEnvironment(path: String) -> Loaded<Environment> {
        load(path: path) { reader, node in EnvironmentDecoder(reader: reader, path: path).decode(node) }
    }

    /// An environment from text kept elsewhere (a test's fixture); `path` names it in diagnostics.
    public func loadEnvironment(path: String, text: String) -> Loaded<Environment> {
        load(path: path, text: text) { reader, node in EnvironmentDecoder(reader: reader, path: path).decode(node) }
    }

    private func load<T: Sendable>(path: String, decode: (NodeReader, Node) -> T?) -> Loaded<T> {
        let start = SourceLocation(file: path, line: 1, column: 1)
        guard let data = FileManager.default.contents(atPath: path) else {
            return Loaded(value: nil, diagnostics: [Diagnostic(.error, at: SourceLocation(file: path, line: 0, column: 0), "cannot read file (missing or not readable)")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return Loaded(value: nil, diagnostics: [Diagnostic(.error, at: start, "file is not UTF-8 text")])
        }
        return load(path: path, text: text, decode: decode)
    }

    private func load<T: Sendable>(path: String, text: String, decode: (NodeReader, Node) -> T?) -> Loaded<T> {
        let start = SourceLocation(file: path, line: 1, column: 1)
        if text.contains("\0") {
            let offset = text.utf8.firstIndex(of: 0).map { text.utf8.distance(from: text.utf8.startIndex, to: $0) } ?? 0
            let position = Self.position(ofUTF8Offset: offset, in: text, file: path)
            return Loaded(value: nil, diagnostics: [Diagnostic(.error, at: position, "file contains a NUL byte; expected YAML text")])
        }
        switch YAMLSource.parse(text, file: path) {
        case .failure(let diagnostic):
            return Loaded(value: nil, diagnostics: [diagnostic])
        case .success(nil):
            return Loaded(value: nil, diagnostics: [Diagnostic(.error, at: start, "file is empty; expected 'version: 1' and the file's keys")])
        case .success(let node?):
            let reader = NodeReader(file: path, kinds: kinds)
            let value = decode(reader, node)
            return Loaded(value: value, diagnostics: reader.diagnostics.sorted)
        }
    }

    static func position(ofUTF8Offset offset: Int, in text: String, file: String) -> SourceLocation {
        var line = 1, column = 1, seen = 0
        for scalar in text.unicodeScalars {
            if seen >= offset { break }
            seen += String(scalar).utf8.count
            if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return SourceLocation(file: file, line: line, column: column)
    }

    // MARK: Validation

    /// `marshal validate`: every file (folders expanded), cross-checked, and against `environment` when given.
    public func validate(paths: [String], environmentPath: String?) -> [Diagnostic] {
        var bag = DiagnosticBag()
        let (files, missing) = expand(paths)
        bag.append(contentsOf: missing)
        var environment: Environment?
        if let environmentPath {
            let loaded = loadEnvironment(path: environmentPath)
            bag.append(contentsOf: loaded.diagnostics)
            environment = loaded.value
        }
        for file in files where file != environmentPath {
            let loaded = loadDocument(path: file)
            bag.append(contentsOf: loaded.diagnostics)
            if case .runbook(let runbook)? = loaded.value {
                bag.append(contentsOf: check(runbook, environment: loaded.hasErrors ? nil : environment))
            }
        }
        return Self.unique(bag.sorted)
    }

    /// Cross-reference checks of a decoded runbook, and of the runbooks it calls (its includes, and
    /// its `on_failure: { run: }` when that is not a template): they exist and take the params given.
    /// `journaled`: the included files a run kept in its journal, path → text, which count as found
    /// (a rollback or resume on a machine that does not have them reads those).
    public func check(_ runbook: Runbook, environment: Environment?, journaled: [String: String] = [:]) -> [Diagnostic] {
        var checker = RunbookChecker()
        checker.check(runbook, environment: environment)
        var diagnostics = checker.diagnostics.items
        for step in runbook.everyStep {
            guard let include = step.kind.as(IncludeStep.self) else { continue }
            let what = "included runbook", name = include.runbook
            let (called, found) = checkCall(name, params: include.params, at: include.location, what: what,
                                            from: runbook, journaled: journaled)
            diagnostics += found
            if let called, let unused = Self.unusedWhenIncluded(called) {
                diagnostics.append(Diagnostic(.warning, at: include.location,
                                              "\(what) '\(name)' has \(unused), which an include does not use: its steps run in this run's batches, on their hosts (a step's on: places it elsewhere)"))
            }
        }
        if let run = runbook.onFailure.writtenOutRun {
            let what = "on_failure runbook"
            let (called, found) = checkCall(run.runbook, params: run.params, at: run.location, what: what,
                                            from: runbook, journaled: journaled)
            diagnostics += found
            for step in called?.steps ?? [] {
                guard let refusal = step.pauseRefusal(in: Step.failureRunbookPlace) else { continue }
                diagnostics.append(Diagnostic(.error, at: run.location, "\(what) '\(run.runbook)': \(step.location): \(refusal)"))
            }
        }
        return diagnostics
    }

    /// What a runbook says for its own runs that its steps do not take along when included: its
    /// targets (a `targets: db` runbook's steps would run on the including run's web hosts),
    /// preflight, rollback list and on_failure. Nil when it says none of these.
    static func unusedWhenIncluded(_ runbook: Runbook) -> String? {
        var parts: [String] = []
        if runbook.targets.terms != [.all] { parts.append("targets: \(runbook.targets)") }
        if !runbook.preflight.isEmpty { parts.append("a preflight: list") }
        if !runbook.rollback.isEmpty { parts.append("a rollback: list") }
        if case .stop = runbook.onFailure {} else { parts.append("on_failure") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    /// A runbook called by name from `caller`: it can be found, and the params given are ones it
    /// declares and include every one it requires. Values are rendered only when it runs. Returns
    /// the runbook too, when it loads, for what only one kind of call checks.
    private func checkCall(_ name: String, params: [ConfigEntry], at location: SourceLocation, what: String,
                           from caller: Runbook, journaled: [String: String]) -> (Runbook?, [Diagnostic]) {
        let path = resolveInclude(name, from: caller.path, journaled: journaled)
        guard Self.exists(path, journaled: journaled) else {
            return (nil, [Diagnostic(.error, at: location, "\(what) '\(name)' not found (looked for \(path))")])
        }
        guard let called = loadRunbook(path: path, journaled: journaled).value else { return (nil, []) }  // its own errors are reported where it is checked
        var diagnostics: [Diagnostic] = []
        let declared = called.params.map(\.name)
        for entry in params where called.param(named: entry.key) == nil {
            let known = declared.isEmpty ? "it declares none" : "it declares: \(declared.joined(separator: ", "))"
            diagnostics.append(Diagnostic(.error, at: entry.location,
                                          "\(what) '\(name)' has no param '\(entry.key)'\(Suggestion.hint(for: entry.key, in: declared)); \(known)"))
        }
        for spec in called.params where spec.required && spec.defaultValue == nil && !params.contains(where: { $0.key == spec.name }) {
            diagnostics.append(Diagnostic(.error, at: location,
                                          "\(what) '\(name)' requires param '\(spec.name)' (declared at \(spec.location)); give it in params"))
        }
        return (called, diagnostics)
    }

    /// The file an include names: beside the including runbook (as written, or with `.yml`), else
    /// in Runbooks/. A `journaled` path (path → text a run kept) is there even when the disk does not have it.
    public func resolveInclude(_ name: String, from runbookPath: String, journaled: [String: String] = [:]) -> String {
        if name.hasPrefix("/") { return name }
        let sibling = (runbookPath as NSString).deletingLastPathComponent
        for candidate in [name, name + ".yml"] {
            let path = sibling.isEmpty ? candidate : sibling + "/" + candidate
            if Self.exists(path, journaled: journaled) { return path }
        }
        let inRunbooks = self.runbookPath(name)
        return Self.exists(inRunbooks, journaled: journaled) ? inRunbooks : (sibling.isEmpty ? name : sibling + "/" + name)
    }

    /// A runbook a run called (an include, an on_failure runbook): the copy the run journaled, else the file.
    public func loadRunbook(path: String, journaled: [String: String]) -> Loaded<Runbook> {
        journaled[path].map { loadRunbook(path: path, text: $0) } ?? loadRunbook(path: path)
    }

    private static func exists(_ path: String, journaled: [String: String]) -> Bool {
        journaled[path] != nil || FileManager.default.fileExists(atPath: path)
    }

    static func unique(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        var seen = Set<Diagnostic>()
        return diagnostics.filter { seen.insert($0).inserted }
    }
}
