import ArgumentParser
import Foundation
import MarshalCore
import MarshalJournal
import MarshalLoading
import MarshalReport

extension MarshalCommand {
    /// `marshal report RUN_ID [--baseline RUN_ID] [--template NAME|FILE] [-o FILE]`.
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the results document of a run from its journal (Markdown).",
            discussion: "Every figure comes from evidence recorded during the run; anything not measured is printed as \"not measured\". --baseline takes a run id, 'last-success' (the previous successful run of the same runbook and environment) or 'none'."
        )

        @OptionGroup var named: NamedRun

        @Option(help: "Run to compare with: an id, 'last-success' or 'none' (default: the runbook's report.baseline, else none).")
        var baseline: String?

        @Option(help: "Template name (Templates/NAME.md) or file (default: the runbook's report.template, else optimization-results).")
        var template: String?

        @OptionGroup var destination: OutputFile

        @Option(help: ArgumentHelp("Check an existing document instead of writing one: recompute every figure from the journal and name each that differs (exit 1).", valueName: "FILE"), completion: .file())
        var verify: String?

        func run() async throws {
            let (journal, run) = try await named.open()
            defer { journal.close() }
            if let verify {
                try await check(verify, run: run, journal: journal)
                return
            }
            let output = destination.output
            let (text, data) = try await ReportWriter.build(run: run, journal: journal, baseline: baseline, template: template, output: output)
            if let output {
                do {
                    try text.write(toFile: output, atomically: true, encoding: .utf8)
                    try ReportWriter.writeCharts(of: data, beside: output)
                } catch {
                    Terminal.stderr("error: cannot write \(output): \(error.localizedDescription)")
                    throw ExitCode.invalidInput
                }
                Terminal.stdout("report written to \(output)")
                for section in data.loadSections {
                    Terminal.stdout("  \(section.title): answers per second \(section.sparkline)")
                }
            } else {
                Terminal.stdout(text)
            }
        }
    }
}

extension MarshalCommand.Report {
    /// `--verify FILE`: the document is rendered again from the journal, with the baseline the
    /// document names (unless --baseline says otherwise), and compared figure by figure.
    func check(_ path: String, run: RunRecord, journal: any JournalStore) async throws {
        guard let data = FileManager.default.contents(atPath: path), let document = String(data: data, encoding: .utf8) else {
            Terminal.stderr("error: cannot read \(path)")
            throw ExitCode.invalidInput
        }
        let recomputed = try await ReportWriter.build(run: run, journal: journal, baseline: baseline ?? ReportWriter.baselineNamed(in: document),
                                                      template: template, output: path).text
        let differences = ReportVerifier.differences(document: document, recomputed: recomputed)
        if differences.isEmpty {
            Terminal.stdout("\(path): every figure matches run \(run.id)'s journal")
            return
        }
        Terminal.stderr("\(path): \(differences.count) figure\(differences.count == 1 ? " differs" : "s differ") from run \(run.id)'s journal:")
        for d in differences { Terminal.stderr("  \(d)") }
        throw ExitCode.failure
    }
}

/// Shared by `marshal report` and `marshal run --report`.
enum ReportWriter {
    static func render(run: RunRecord, journal: any JournalStore, baseline: String?, template: String?) async throws -> String {
        try await build(run: run, journal: journal, baseline: baseline, template: template, output: nil).text
    }

    /// Each load test's chart, `STEM-load-N.svg` beside the document the data was rendered for.
    static func writeCharts(of data: ReportData, beside output: String) throws {
        let folder = URL(fileURLWithPath: output).deletingLastPathComponent()
        for section in data.loadSections {
            guard let chart = section.chart else { continue }
            try section.svg.write(to: folder.appendingPathComponent(chart), atomically: true, encoding: .utf8)
        }
    }

    /// The chart file names' stem for a document written to `output`.
    static func chartStem(_ output: String?) -> String? {
        output.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
    }

    static func build(run: RunRecord, journal: any JournalStore, baseline: String?, template: String?, output: String?) async throws -> (text: String, data: ReportData) {
        let runbookReport = JournaledRunbook.report(of: run)
        let baselineChoice = baseline ?? runbookReport?.baseline ?? "none"
        func evidence(_ r: RunRecord) async throws -> ReportBuilder.Evidence {
            .init(run: r, steps: try await journal.steps(runId: r.id), measurements: try await journal.measurements(runId: r.id))
        }
        var baselineData = ReportBuilder.Baseline.none
        switch baselineChoice {
        case "none":
            break
        case "last-success":
            if let previous = try await journal.runs(matching: RunQuery(environment: run.environment, runbook: run.runbook,
                                                                        kinds: [.rollout, .resume], statuses: [.succeeded],
                                                                        excluding: run.id, limit: 20))
                .first(where: { $0.startedAt < run.startedAt }) {
                baselineData = .run(try await evidence(previous))
            } else {
                baselineData = .noSuccessfulRun
            }
        default:
            do {
                let previous = try await journal.run(id: baselineChoice, environment: nil)
                baselineData = .run(try await evidence(previous))
            } catch {
                Terminal.stderr("error: baseline: \(error)")
                throw ExitCode.invalidInput
            }
        }
        let data = ReportBuilder.build(.init(run: run, steps: try await journal.steps(runId: run.id),
                                             measurements: try await journal.measurements(runId: run.id), baseline: baselineData,
                                             chartStem: chartStem(output)))
        let renderer = ReportRenderer(searchPaths: templateFolders())
        do {
            return (try renderer.render(data, template: template ?? runbookReport?.template ?? "optimization-results"), data)
        } catch {
            Terminal.stderr("error: \(error)")
            throw ExitCode.invalidInput
        }
    }

    /// The baseline a document was written against, read back from its own text.
    static func baselineNamed(in document: String) -> String {
        if let range = document.range(of: #"Baseline run `[^`]+`"#, options: .regularExpression) {
            return String(document[range].dropFirst("Baseline run `".count).dropLast())
        }
        return document.contains("No successful run to compare with") ? "last-success" : "none"
    }

    /// Templates/ of the current project, then the one of the checkout the binary was built in,
    /// then PREFIX/share/marshal/templates of an installed binary; the built-in copies come last.
    static func templateFolders() -> [String] {
        var folders = [FileManager.default.currentDirectoryPath + "/Templates"]
        let binaryFolder = URL(fileURLWithPath: InstallLayout.executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
        var url = binaryFolder
        for _ in 0..<5 {
            folders.append(url.path + "/Templates")
            url.deleteLastPathComponent()
        }
        folders.append(InstallLayout.dataFolder + "/templates")
        return folders
    }
}
