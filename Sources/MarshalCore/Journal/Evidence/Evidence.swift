import Foundation

/// A measurement's payload as one `Codable` type per kind, shared by the runners that write it and
/// the report, JUnit and `show` that read it. Stored as JSON carrying `"v": Evidence.version`.
///
/// Versions:
/// - 1 (no `v`): written by hand before these types existed; the same keys, so it decodes as is.
/// - 2: written from these types.
/// A later change of keys bumps the version and keeps decoding the older ones.
public enum Evidence {
    public static let version = 2

    /// The payload as stored in the journal.
    public static func json<E: Encodable>(_ evidence: E) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(evidence) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// A stored payload read as `type`; nil when there is none or it is not of that shape.
    public static func decode<E: Decodable>(_ type: E.Type, from json: String?) -> E? {
        guard let json else { return nil }
        return try? JSONDecoder().decode(type, from: Data(json.utf8))
    }

    /// The `label:` a gate had in the runbook, whatever its kind (see `GateLabels`).
    public static func label(of json: String?) -> String? {
        decode(Labelled.self, from: json)?.label
    }

    private struct Labelled: Decodable { var label: String? }
}

/// One attempt of a `health` or `http` check.
public struct HTTPAttemptEvidence: Codable, Sendable, Hashable {
    public var version: Int?
    public var attempt: Int
    /// Seconds since the check began.
    public var at: Double
    /// The HTTP status, nil when no answer came.
    public var status: Int?
    public var message: String
    public var label: String?

    public init(attempt: Int, at: Double, status: Int?, message: String) {
        self.version = Evidence.version
        self.attempt = attempt
        self.at = at
        self.status = status
        self.message = message
    }

    enum CodingKeys: String, CodingKey { case version = "v", attempt, at, status, message, label }
}

/// One round of a soak for one gate on one host.
public struct SoakRoundEvidence: Codable, Sendable, Hashable {
    public var version: Int?
    public var round: Int
    public var host: String?
    public var message: String
    public var label: String?

    public init(round: Int, host: String?, message: String) {
        self.version = Evidence.version
        self.round = round
        self.host = host
        self.message = message
    }

    enum CodingKeys: String, CodingKey { case version = "v", round, host, message, label }
}

/// A query's result: its columns and first 100 rows, NULL kept apart from every text.
public struct SQLResultEvidence: Codable, Sendable, Hashable {
    public var version: Int?
    public var columns: [String]
    public var rows: [[String?]]
    public var label: String?

    public init(columns: [String], rows: [[String?]]) {
        self.version = Evidence.version
        self.columns = columns
        self.rows = rows
    }

    /// The first cell, the `value` an `expect` sees.
    public var firstCell: String? { rows.first?.first ?? nil }

    enum CodingKeys: String, CodingKey { case version = "v", columns, rows, label }

    /// Version 1 payloads of some builds held only `rows`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decodeIfPresent(Int.self, forKey: .version)
        columns = try c.decodeIfPresent([String].self, forKey: .columns) ?? []
        rows = try c.decode([[String?]].self, forKey: .rows)
        label = try c.decodeIfPresent(String.self, forKey: .label)
    }
}

/// A backup's file, as the host reported it.
public struct BackupEvidence: Codable, Sendable, Hashable {
    public var version: Int?
    public var path: String
    public var sha256: String

    public init(path: String, sha256: String) {
        self.version = Evidence.version
        self.path = path
        self.sha256 = sha256
    }

    enum CodingKeys: String, CodingKey { case version = "v", path, sha256 }
}

/// A webhook sent for a run event, and what came of it.
public struct NotifyEvidence: Codable, Sendable, Hashable {
    public var version: Int?
    public var message: String

    public init(message: String) {
        self.version = Evidence.version
        self.message = message
    }

    enum CodingKeys: String, CodingKey { case version = "v", message }
}
