import ArgumentParser

/// `--output text|json`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// `--output`, declared once for every command that can answer in JSON.
struct OutputOptions: ParsableArguments {
    @Option(help: "text, or json for programs (a run's events one per line as they happen; a record as one document).")
    var output: OutputFormat = .text
}

/// A command that declares `@OptionGroup var outputOptions: OutputOptions` reads the format as `output`.
protocol AnswersInFormat {
    var outputOptions: OutputOptions { get }
}

extension AnswersInFormat {
    var output: OutputFormat { outputOptions.output }
}
