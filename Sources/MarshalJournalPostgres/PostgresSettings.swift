import Foundation
import MarshalCore

/// Where a PostgreSQL store is, parsed from a `postgres://` or `postgresql://` URL.
///
/// The URL is parsed here, not by libpq, so that no libpq message can echo part of it (libpq
/// quotes a malformed percent-escape, which may sit inside the password). The password reaches
/// libpq as a `PQconnectdbParams` keyword, in this process's memory only: never an argument list.
public struct PostgresSettings: Sendable, Hashable {
    /// libpq connection keywords and values (host, port, user, password, dbname, sslmode…).
    public let keywords: [(String, String)]
    /// The URL with its password replaced by `***`, for messages and `location`.
    public let redacted: String
    /// The password in every form a program might echo it (decoded and as written), for masking.
    public let secretComponents: [String]

    public static func == (a: Self, b: Self) -> Bool { a.redacted == b.redacted && a.secretComponents == b.secretComponents }
    public func hash(into hasher: inout Hasher) { hasher.combine(redacted) }

    /// True when `text` names a PostgreSQL store rather than a folder.
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Query parameters libpq accepts in a URL that make sense for a state store.
    static let allowedOptions: Set<String> = [
        "sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name", "target_session_attrs",
        "options", "sslcompression", "gssencmode", "passfile", "service",
    ]

    public init(url: String) throws {
        // Never quote the URL in an error: it may hold the password.
        guard Self.isURL(url) else {
            throw JournalError.invalidLocation(reason: "a PostgreSQL state must be a postgres:// or postgresql:// URL")
        }
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            throw JournalError.invalidLocation(reason: "the PostgreSQL URL cannot be parsed (expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE, with special characters percent-encoded)")
        }
        var keywords: [(String, String)] = [("host", host)]
        if let port = components.port { keywords.append(("port", String(port))) }
        if let user = components.user, !user.isEmpty { keywords.append(("user", user)) }
        var secrets: [String] = []
        if let password = components.password, !password.isEmpty {
            keywords.append(("password", password))
            secrets.append(password)
            if let raw = components.percentEncodedPassword, raw != password { secrets.append(raw) }
        }
        let database = String(components.path.drop { $0 == "/" })
        if !database.isEmpty { keywords.append(("dbname", database)) }
        var hasTimeout = false
        for item in components.queryItems ?? [] {
            guard Self.allowedOptions.contains(item.name) else {
                throw JournalError.invalidLocation(reason: "the PostgreSQL URL has an unknown option \(item.name); known: \(Self.allowedOptions.sorted().joined(separator: ", "))")
            }
            if item.name == "connect_timeout" { hasTimeout = true }
            keywords.append((item.name, item.value ?? ""))
        }
        // A store that does not answer must not hang a run: give up connecting after 5 s, and notice
        // a dead peer through TCP keepalives and a bounded wait for unacknowledged data.
        if !hasTimeout { keywords.append(("connect_timeout", "5")) }
        keywords += [("keepalives", "1"), ("keepalives_idle", "5"), ("keepalives_interval", "2"), ("keepalives_count", "3"),
                     ("tcp_user_timeout", "10000")]
        if !(components.queryItems ?? []).contains(where: { $0.name == "application_name" }) {
            keywords.append(("application_name", "marshal"))
        }
        self.keywords = keywords
        self.secretComponents = secrets
        var shown = components
        if shown.password != nil { shown.percentEncodedPassword = "***" }
        self.redacted = shown.string ?? "postgresql://\(host)"
    }

    /// `text` with every password form replaced by `***`.
    public func mask(_ text: String) -> String {
        secretComponents.sorted { $0.count > $1.count }.reduce(text) { $0.replacingOccurrences(of: $1, with: Secret.mask) }
    }
}
