import ArgumentParser

/// `--output text|json`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
