import ArgumentParser
import Foundation
import MarshalCore
import MarshalJournal
import MarshalReport

/// The files a run leaves behind when it ends, whatever the outcome (a failed run needs them
/// most): `--report` (the Markdown results document) and `--junit` (gate results for CI).
struct DocumentOptions: ParsableArguments {
    @Option(help: "Write the results document to this file when the run ends.", completion: .file())
    var report: String?

    @Option(help: "Write gate results as JUnit XML to this file when the run ends (for CI).", completion: .file())
    var junit: String?

    init() {}

    init(report: String? = nil, junit: String?) {
        self.report = report
        self.junit = junit
    }

    /// Refuses, while the command line is read and so before anything runs, a destination that
    /// could not be written at the end.
    func validate() throws {
        try WritableFolder.check("--report", report, then: "nothing was run")
        try WritableFolder.check("--junit", junit, then: "nothing was run")
    }

    func write(runId: String, journal: any JournalStore) async throws {
        guard report != nil || junit != nil else { return }
        // A run that could not start (lock held, host key refused) has no record: nothing to write,
        // and the exit status stays the one that says why.
        guard let record = try? await journal.run(id: runId, environment: nil) else {
            Terminal.stderr("note: the run did not start, so no --report or --junit file was written")
            return
        }
        if let report {
            let (text, data) = try await ReportWriter.build(run: record, journal: journal, baseline: nil, template: nil, output: report)
            try text.write(toFile: report, atomically: true, encoding: .utf8)
            try ReportWriter.writeCharts(of: data, beside: report)
            Terminal.stderr("report: \(report)")
        }
        if let junit {
            let xml = JUnitReport.render(run: record, steps: try await journal.steps(runId: runId),
                                         measurements: try await journal.measurements(runId: runId))
            try xml.write(toFile: junit, atomically: true, encoding: .utf8)
            Terminal.stderr("junit: \(junit)")
        }
    }
}
