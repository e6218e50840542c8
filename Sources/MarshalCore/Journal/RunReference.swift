/// How a run reference (`last`, a whole id, or a unique prefix of one, as with git) names a run:
/// the same rules for every store. A store supplies its own queries for the three look-ups and
/// runs this inside one read of its own.
public enum RunReference {
    /// One of the three look-ups as a run query plus a condition in SQL that SQLite and
    /// PostgreSQL both read, so a store only binds it (`placeholder` is its parameter marker).
    public struct Lookup: Sendable {
        public var query: RunQuery
        public var condition: String?
        public var arguments: [String]

        public func condition(placeholder: String) -> String? { condition?.replacingOccurrences(of: "?", with: placeholder) }
    }

    /// `resolve` for a store that answers each `Lookup` with its runs, newest first.
    public static func resolve(_ reference: String, environment: String?, journal location: String,
                               fetch: (Lookup) throws -> [RunRecord]) throws -> RunRecord {
        try resolve(reference, environment: environment, journal: location,
                    latest: { try fetch(Lookup(query: RunQuery(environment: $0, limit: 1), condition: nil, arguments: [])).first },
                    exact: { try fetch(Lookup(query: RunQuery(), condition: "id = ?", arguments: [$0])).first },
                    // Both count characters in substr; run ids are ASCII, so scalars and characters agree.
                    prefixed: { try fetch(Lookup(query: RunQuery(limit: 10), condition: "substr(id, 1, ?) = ?", arguments: [String($0.unicodeScalars.count), $0])) })
    }

    public static func resolve(_ reference: String, environment: String?, journal location: String,
                               latest: (_ environment: String?) throws -> RunRecord?,
                               exact: (_ id: String) throws -> RunRecord?,
                               prefixed: (_ prefix: String) throws -> [RunRecord]) throws -> RunRecord {
        guard !reference.isEmpty else {
            throw JournalError.runNotFound(reference: reference, environment: environment, journal: location)
        }
        if reference == RunID.last {
            guard let run = try latest(environment) else {
                throw JournalError.runNotFound(reference: reference, environment: environment, journal: location)
            }
            return run
        }
        var found = try exact(reference)
        if found == nil {
            // A unique prefix is enough: operators copy the first part of the id.
            let candidates = try prefixed(reference)
            if candidates.count > 1 {
                throw JournalError.ambiguousRun(reference: reference, candidates: candidates.map(\.id), journal: location)
            }
            found = candidates.first
        }
        guard let run = found else {
            throw JournalError.runNotFound(reference: reference, environment: environment, journal: location)
        }
        if let environment, run.environment != environment {
            throw JournalError.runInOtherEnvironment(id: run.id, environment: run.environment, expected: environment)
        }
        return run
    }
}
