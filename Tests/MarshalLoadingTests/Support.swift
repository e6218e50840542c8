import Foundation
import MarshalTestSupport
import MarshalCore
@testable import MarshalLoading

/// Paths of the repository and the fixtures beside these tests.
enum Repo {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let fixtures = root + "/Tests/MarshalLoadingTests/Fixtures"

    /// Writes `text` to a fresh temporary file and returns its path.
    static func temporaryFile(_ text: String, name: String = "input.yml") -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("marshal-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        TestFile.write(text, to: path)
        return path
    }
}
