import Foundation

/// A run's params as every store keeps them: one JSON object of strings, keys sorted.
public enum RunParamsJSON {
    public static func encode(_ params: [String: String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(params), as: UTF8.self)
    }

    /// Anything but an object of strings is an unreadable record of `journal`.
    public static func decode(_ json: String, run: String, journal: String) throws -> [String: String] {
        do {
            return try JSONDecoder().decode([String: String].self, from: Data(json.utf8))
        } catch {
            throw JournalError.unreadableRecord(journal: journal, detail: "params of run \(run) are not a JSON object of strings")
        }
    }
}
