import ArgumentParser
import Foundation

/// Shell completion of runbook and environment names: the YAML files of Runbooks/ and
/// Environments/ in the current folder, by name (as `-e staging` takes them).
enum ProjectNames {
    static let runbooks = CompletionKind.custom { _, _, prefix in names(in: "Runbooks", prefix: prefix) }
    static let environments = CompletionKind.custom { _, _, prefix in names(in: "Environments", prefix: prefix) }

    static func names(in folder: String, prefix: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return files.filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }
            .map { ($0 as NSString).deletingPathExtension }
            .filter { $0.hasPrefix(prefix) }
            .sorted()
    }
}
