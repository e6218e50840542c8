/// A file a run was started from (its runbook, an included runbook), kept in the run's journaled
/// inputs so that `resume` and `rollback` from any machine use exactly what the run used.
public struct JournaledDocument: Sendable, Hashable, Codable {
    public enum Role: String, Sendable, Hashable, Codable {
        case runbook
        case include
    }

    public var role: Role
    /// The path as the run resolved it (on the machine that ran it).
    public var path: String
    /// Hex SHA-256 of `text`.
    public var sha256: String
    public var text: String

    public init(role: Role, path: String, sha256: String, text: String) {
        self.role = role
        self.path = path
        self.sha256 = sha256
        self.text = text
    }
}
