import Dispatch
import Foundation
internal import CLibPQ
import MarshalCore

/// One libpq connection, owned by this type alone and used only on its own serial queue (libpq's
/// calls block; they must never run on Swift's cooperative pool — STYLE.md rule 6).
///
/// Every value reaches the server as a bound parameter (`$1`…, `PQexecParams`), never spliced into
/// SQL text. A dropped connection is re-established at the start of the next operation.
final class PostgresConnection: @unchecked Sendable {
    /// A failure of one statement: SQLSTATE when the server answered, and the text (password masked).
    struct Failure: Error {
        var sqlState: String?
        var message: String
        /// The connection broke: the server is down or unreachable.
        var connectionLost: Bool
        /// In a pipeline, the index of the statement that failed.
        var statement: Int? = nil
    }

    /// Rows of a result: column name → text value (nil for NULL).
    typealias Row = [String: String?]

    private let settings: PostgresSettings
    private let queue = DispatchQueue(label: "marshal.journal.postgres")
    /// Touched only on `queue`.
    private var handle: OpaquePointer?

    init(settings: PostgresSettings) {
        self.settings = settings
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Runs `body` on the connection's queue, connected; bridges to async. Cancellation does not
    /// reach it: what a run did must still be written when the run is cancelled (Ctrl-C).
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (Session) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body(Session(connection: self, pg: try self.connected())) })
            }
        }
    }

    /// Synchronous variant for `init` and `deinit`-time work, on the caller's thread through the queue.
    func withConnectionSync<T>(_ body: (Session) throws -> T) throws -> T {
        try queue.sync { try body(Session(connection: self, pg: try connected())) }
    }

    private func connected() throws -> OpaquePointer {
        if let handle, PQstatus(handle) == CONNECTION_OK { return handle }
        if let handle { PQfinish(handle) }
        handle = nil
        let keys = settings.keywords.map { strdup($0.0) }
        let values = settings.keywords.map { strdup($0.1) }
        defer {
            keys.forEach { free($0) }
            values.forEach { free($0) }
        }
        var keyPointers: [UnsafePointer<CChar>?] = keys.map { UnsafePointer($0) } + [nil]
        var valuePointers: [UnsafePointer<CChar>?] = values.map { UnsafePointer($0) } + [nil]
        let connection = keyPointers.withUnsafeMutableBufferPointer { k in
            valuePointers.withUnsafeMutableBufferPointer { v in
                PQconnectdbParams(k.baseAddress, v.baseAddress, 0)
            }
        }
        guard let connection else { throw Failure(sqlState: nil, message: "out of memory", connectionLost: true) }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = settings.mask(Self.text(PQerrorMessage(connection)))
            PQfinish(connection)
            throw Failure(sqlState: nil, message: message, connectionLost: true)
        }
        handle = connection
        // libpq prints NOTICEs to stderr by default; the journal's own messages are its errors.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        // Bounded waits: a row lock or a statement that does not finish must not hang a run.
        // Timestamps travel as UTC text the decoder reads back exactly.
        let session = Session(connection: self, pg: connection)
        try session.execute("SET lock_timeout = '10s'")
        try session.execute("SET statement_timeout = '30s'")
        try session.execute("SET TIME ZONE 'UTC'")
        return connection
    }

    fileprivate func mask(_ text: String) -> String { settings.mask(text) }

    static func text(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        return String(cString: pointer).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Statements on a live connection; valid only inside `withConnection`.
    struct Session {
        fileprivate let connection: PostgresConnection
        fileprivate let pg: OpaquePointer

        /// Runs one statement with bound text parameters; returns its rows.
        @discardableResult
        func execute(_ sql: String, _ parameters: [String?] = []) throws -> [Row] {
            let copies = parameters.map { $0.map { strdup($0) } ?? nil }
            defer { copies.forEach { free($0) } }
            let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
            let result = pointers.withUnsafeBufferPointer { buffer in
                PQexecParams(pg, sql, Int32(parameters.count), nil, buffer.baseAddress, nil, nil, 0)
            }
            guard let result else {
                throw Failure(sqlState: nil, message: connection.mask(PostgresConnection.text(PQerrorMessage(pg))),
                              connectionLost: PQstatus(pg) != CONNECTION_OK)
            }
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_COMMAND_OK:
                return []
            case PGRES_TUPLES_OK:
                return Self.rows(result)
            default:
                let state = PQresultErrorField(result, MARSHAL_PG_DIAG_SQLSTATE).map { String(cString: $0) }
                let primary = PQresultErrorField(result, MARSHAL_PG_DIAG_MESSAGE_PRIMARY).map { String(cString: $0) }
                let message = primary ?? PostgresConnection.text(PQresultErrorMessage(result))
                throw Failure(sqlState: state, message: connection.mask(message), connectionLost: PQstatus(pg) != CONNECTION_OK)
            }
        }

        /// Several statements in one transaction and one network round trip (libpq pipeline mode,
        /// https://www.postgresql.org/docs/15/libpq-pipeline-mode.html): BEGIN, the statements, COMMIT,
        /// one sync. A failing statement aborts the rest and the transaction; the error names its index.
        /// Results are small (a few rows), so blocking mode cannot deadlock on full socket buffers.
        func pipeline(_ statements: [(sql: String, parameters: [String?])]) throws -> [[Row]] {
            let all = [("BEGIN", [String?]())] + statements.map { ($0.sql, $0.parameters) } + [("COMMIT", [String?]())]
            guard PQenterPipelineMode(pg) == 1 else {
                throw Failure(sqlState: nil, message: connection.mask(PostgresConnection.text(PQerrorMessage(pg))), connectionLost: PQstatus(pg) != CONNECTION_OK)
            }
            defer { PQexitPipelineMode(pg) }
            for (sql, parameters) in all {
                let copies = parameters.map { $0.map { strdup($0) } ?? nil }
                defer { copies.forEach { free($0) } }
                let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
                let sent = pointers.withUnsafeBufferPointer { PQsendQueryParams(pg, sql, Int32(parameters.count), nil, $0.baseAddress, nil, nil, 0) }
                guard sent == 1 else {
                    throw Failure(sqlState: nil, message: connection.mask(PostgresConnection.text(PQerrorMessage(pg))), connectionLost: PQstatus(pg) != CONNECTION_OK)
                }
            }
            guard PQpipelineSync(pg) == 1 else {
                throw Failure(sqlState: nil, message: connection.mask(PostgresConnection.text(PQerrorMessage(pg))), connectionLost: PQstatus(pg) != CONNECTION_OK)
            }
            var outputs: [[Row]] = []
            var failure: Failure?
            for index in all.indices {
                var rows: [Row] = []
                while let result = PQgetResult(pg) {
                    defer { PQclear(result) }
                    switch PQresultStatus(result) {
                    case PGRES_COMMAND_OK, PGRES_PIPELINE_ABORTED: break
                    case PGRES_TUPLES_OK: rows += Self.rows(result)
                    default:
                        if failure == nil {
                            let state = PQresultErrorField(result, MARSHAL_PG_DIAG_SQLSTATE).map { String(cString: $0) }
                            let primary = PQresultErrorField(result, MARSHAL_PG_DIAG_MESSAGE_PRIMARY).map { String(cString: $0) }
                            failure = Failure(sqlState: state, message: connection.mask(primary ?? PostgresConnection.text(PQresultErrorMessage(result))),
                                              connectionLost: PQstatus(pg) != CONNECTION_OK, statement: index - 1)
                        }
                    }
                }
                if PQstatus(pg) != CONNECTION_OK {
                    throw failure ?? Failure(sqlState: nil, message: connection.mask(PostgresConnection.text(PQerrorMessage(pg))), connectionLost: true)
                }
                outputs.append(rows)
            }
            // The sync's own result closes the round.
            while let result = PQgetResult(pg) {
                let status = PQresultStatus(result)
                PQclear(result)
                if status == PGRES_PIPELINE_SYNC { break }
            }
            if let failure {
                // The statements after the failure were skipped, COMMIT too: end the open transaction.
                PQexitPipelineMode(pg)
                if PQstatus(pg) == CONNECTION_OK { _ = try? execute("ROLLBACK") }
                throw failure
            }
            return Array(outputs.dropFirst().dropLast())
        }

        static func rows(_ result: OpaquePointer) -> [Row] {
            let columns = (0..<PQnfields(result)).map { String(cString: PQfname(result, $0)) }
            return (0..<PQntuples(result)).map { row in
                var values: Row = [:]
                for (i, name) in columns.enumerated() {
                    let column = Int32(i)
                    values[name] = PQgetisnull(result, row, column) == 1 ? String?.none : String(cString: PQgetvalue(result, row, column))
                }
                return values
            }
        }

        /// `body` inside BEGIN … COMMIT; rolled back when it throws.
        func transaction<T>(_ body: () throws -> T) throws -> T {
            try execute("BEGIN")
            do {
                let value = try body()
                try execute("COMMIT")
                return value
            } catch {
                if PQstatus(pg) == CONNECTION_OK { _ = try? execute("ROLLBACK") }
                throw error
            }
        }
    }
}
