import Foundation

/// One HTTP request as a probe, health check or Prometheus query sends it.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Whole-exchange limit: connect, send, wait and read.
    public var timeout: Duration
    public var connectTimeout: Duration
    /// Skips TLS certificate and host name verification; only when a runbook says `insecure: true`.
    public var insecure: Bool

    public init(
        method: String = "GET",
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = [],
        timeout: Duration = .seconds(10),
        connectTimeout: Duration = .seconds(5),
        insecure: Bool = false
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.insecure = insecure
    }

    /// The URL as it may appear in messages, logs and the journal (userinfo and query values masked).
    public var displayURL: String { URLMask.display(url) }
}

/// What the server answered, whatever the status: a 404 or 503 is a response, not an error.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// In the order received; names keep the server's spelling.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var timings: HTTPTimings

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8], timings: HTTPTimings) {
        self.status = status
        self.headers = headers
        self.body = body
        self.timings = timings
    }

    /// The first header with this name, compared case-insensitively (RFC 9110 §5.1).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// The body decoded as UTF-8, with invalid bytes replaced.
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Where the time of one exchange went, measured from the start of the request.
public struct HTTPTimings: Sendable, Hashable, Codable {
    public var total: Duration
    /// Until the TCP connection was up (zero when a kept-alive connection was reused).
    public var connect: Duration
    /// Until the first response byte arrived.
    public var ttfb: Duration

    public init(total: Duration, connect: Duration, ttfb: Duration) {
        self.total = total
        self.connect = connect
        self.ttfb = ttfb
    }
}

/// Sends HTTP requests; the libcurl adapter implements it, tests may fake it.
public protocol HTTPClient: Sendable {
    func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse
}
