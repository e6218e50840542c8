import ArgumentParser
import Foundation
import MarshalCore
import MarshalJournal
import MarshalLoading

/// The runbook (and included runbooks) a run was started from, kept in its journaled inputs, so
/// that `resume`, `rollback` and `report` on any machine use what the run used, not whatever the
/// path holds on this machine (or nothing, on another operator's laptop).
enum JournaledRunbook {
    /// The runbook's file and every runbook it includes, as read now.
    static func documents(for runbook: Runbook) -> [JournaledDocument] {
        let loader = Loader()
        var documents: [JournaledDocument] = []
        var seen: Set<String> = []
        func add(_ path: String, role: JournaledDocument.Role) -> Runbook? {
            guard seen.insert(path).inserted,
                  let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else { return nil }
            documents.append(JournaledDocument(role: role, path: path, sha256: ContentDigest.sha256(text), text: text))
            return loader.loadRunbook(path: path, text: text).value
        }
        func walk(_ runbook: Runbook) {
            // An on_failure runbook runs when the run has failed, maybe resumed on another machine.
            let called = runbook.everyStep.compactMap { $0.kind.as(IncludeStep.self)?.runbook } + [runbook.onFailure.writtenOutRun?.runbook].compactMap { $0 }
            for name in called {
                if let included = add(loader.resolveInclude(name, from: runbook.path), role: .include) { walk(included) }
            }
        }
        if let root = add(runbook.path, role: .runbook) { walk(root) }
        return documents
    }

    /// The documents a run journaled (none for runs of an older marshal).
    static func documents(of run: RunRecord) -> [JournaledDocument] {
        struct Inputs: Decodable { var documents: [JournaledDocument]? }
        return (try? JSONDecoder().decode(Inputs.self, from: Data(run.inputsJSON.utf8)))?.documents ?? []
    }

    /// The runbook `run` used and an include loader that prefers the journaled includes; the file at
    /// the run's path when it journaled none. Says so when the file on disk differs.
    static func load(for run: RunRecord, against environment: Environment?) throws -> (runbook: Runbook, includes: IncludeLoader) {
        let documents = documents(of: run)
        guard let root = documents.first(where: { $0.role == .runbook }) else {
            return (try Inputs().runbook(run.runbookPath, against: environment), IncludeLoader())
        }
        if let data = FileManager.default.contents(atPath: root.path), let disk = String(data: data, encoding: .utf8) {
            let digest = ContentDigest.sha256(disk)
            if digest != root.sha256 {
                Terminal.stderr("note: \(root.path) on this machine differs from the runbook run \(run.id) used (sha256 \(digest.prefix(12)) here, \(root.sha256.prefix(12)) journaled); using the journaled one")
            }
        }
        let loader = Loader()
        let loaded = loader.loadRunbook(path: root.path, text: root.text)
        let includes = Dictionary(documents.filter { $0.role == .include }.map { ($0.path, $0.text) }, uniquingKeysWith: { first, _ in first })
        var diagnostics = loaded.diagnostics
        if let runbook = loaded.value, !loaded.hasErrors {
            diagnostics += loader.check(runbook, environment: environment, journaled: includes)
        }
        DiagnosticPrinter().print(diagnostics)
        guard let runbook = loaded.value, !diagnostics.contains(where: { $0.severity == .error }) else { throw ExitCode.invalidInput }
        return (runbook, IncludeLoader(journaled: includes))
    }

    /// The runbook's report settings, from the journal when the run kept its runbook.
    static func report(of run: RunRecord) -> ReportSpec? {
        if let root = documents(of: run).first(where: { $0.role == .runbook }) {
            return Loader().loadRunbook(path: root.path, text: root.text).value?.report
        }
        return Loader().loadRunbook(path: run.runbookPath).value?.report
    }
}
