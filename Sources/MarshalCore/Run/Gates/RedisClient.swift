import Foundation

/// Where a redis check connects: parsed from `redis://[user[:password]@]host[:port][/db]`.
public struct RedisEndpoint: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var database: Int
    public var username: String?
    /// AUTH's password; from `password:` or the URL. Never printed.
    public var password: Secret?

    public init(host: String, port: Int = 6379, database: Int = 0, username: String? = nil, password: Secret? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
    }

    /// `host:port/db`, for messages and evidence (no credentials).
    public var display: String { "redis://\(host):\(port)/\(database)" }

    /// Parses a rendered URL; the message names what is wrong (never the password).
    public static func parse(_ url: String, password: Secret?) -> Result<RedisEndpoint, StepFailure> {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            return .failure(StepFailure("redis: '\(URLMask.display(url))' is not a URL; expected redis://host:port/db"))
        }
        guard scheme == "redis" else {
            let hint = scheme == "rediss" ? " (TLS is not supported yet; reach the server over an SSH host with `on:`)" : ""
            return .failure(StepFailure("redis: unsupported scheme '\(scheme)' in \(URLMask.display(url)); expected redis://\(hint)"))
        }
        guard let host = components.host, !host.isEmpty else {
            return .failure(StepFailure("redis: \(URLMask.display(url)) names no host; expected redis://host:port/db"))
        }
        var database = 0
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let db = Int(path), db >= 0 else {
                return .failure(StepFailure("redis: the path of \(URLMask.display(url)) must be a database number such as /0"))
            }
            database = db
        }
        var secret = password
        if secret == nil, let given = components.password, !given.isEmpty {
            secret = Secret(name: "redis url password", value: given.removingPercentEncoding ?? given)
        }
        let user = components.user.flatMap { $0.isEmpty ? nil : ($0.removingPercentEncoding ?? $0) }
        return .success(RedisEndpoint(host: host, port: components.port ?? 6379, database: database, username: user, password: secret))
    }
}

/// One RESP reply.
public enum RedisReply: Sendable, Hashable {
    case simple(String)
    case error(String)
    case integer(Int64)
    /// nil: the null bulk string (a missing key).
    case bulk([UInt8]?)
    /// nil: the null array.
    case array([RedisReply]?)

    /// The reply as text, for INFO and GET.
    public var text: String? {
        switch self {
        case .simple(let s): s
        case .bulk(let bytes?): String(decoding: bytes, as: UTF8.self)
        case .integer(let n): String(n)
        default: nil
        }
    }
}

/// Why a redis check could not measure; what to do next is in each message.
public enum RedisError: Error, Sendable, CustomStringConvertible {
    case connect(endpoint: String, reason: String)
    case timeout(endpoint: String, after: Duration)
    case auth(endpoint: String, reply: String)
    case protocolError(endpoint: String, reason: String)
    case closed(endpoint: String)
    /// A reply the check cannot use (e.g. WRONGTYPE for LLEN of a set).
    case command(endpoint: String, command: String, reply: String)

    public var description: String {
        switch self {
        case .connect(let e, let reason): "redis \(e): cannot connect (\(reason)); is the server running and is the URL right?"
        case .timeout(let e, let after): "redis \(e): no answer within \(DurationText.format(after))"
        case .auth(let e, let reply): "redis \(e): authentication failed (\(reply)); check the password secret"
        case .protocolError(let e, let reason): "redis \(e): the answer is not RESP (\(reason)); is this a Redis server?"
        case .closed(let e): "redis \(e): the server closed the connection before answering"
        case .command(let e, let command, let reply): "redis \(e): \(command) answered \(reply)"
        }
    }
}

/// Sends commands to a Redis server: connect, AUTH and SELECT as the endpoint says, then the
/// commands pipelined, one reply each (an error reply is a `.error` value, not a thrown error).
public protocol RedisClient: Sendable {
    func execute(_ commands: [[String]], at endpoint: RedisEndpoint, timeout: Duration) async throws(RedisError) -> [RedisReply]
}
