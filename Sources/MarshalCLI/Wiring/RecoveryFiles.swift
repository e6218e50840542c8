import Foundation
import MarshalCore

/// Recovery files of runs whose journal could not be written: `marshal-recovery-RUN.json` in
/// the working directory (where the operator is), else in the temporary directory; the journal's
/// disk may be the full one.
struct RecoveryFiles: RecoveryStore {
    struct Document: Codable {
        var run: RunRecord
        var steps: [StepRecord]
    }

    static var directories: [String] {
        [FileManager.default.currentDirectoryPath, NSTemporaryDirectory()]
    }

    static func name(_ runId: String) -> String { "marshal-recovery-\(runId).json" }

    func save(run: RunRecord, steps: [StepRecord]) -> String? {
        guard let data = try? JSONEncoder().encode(Document(run: run, steps: steps)) else { return nil }
        for directory in Self.directories {
            let path = (directory as NSString).appendingPathComponent(Self.name(run.id))
            if FileManager.default.createFile(atPath: path, contents: data) { return path }
        }
        return nil
    }

    /// The step records a recovery file holds for `runId`, if there is one.
    static func steps(of runId: String) -> [StepRecord]? {
        for directory in directories {
            let path = (directory as NSString).appendingPathComponent(name(runId))
            if let data = FileManager.default.contents(atPath: path),
               let document = try? JSONDecoder().decode(Document.self, from: data) {
                return document.steps
            }
        }
        return nil
    }
}
