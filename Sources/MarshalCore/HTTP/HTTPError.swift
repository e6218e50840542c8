import Foundation

/// Why an HTTP exchange produced no response, written for the operator. URLs are masked.
public enum HTTPError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidURL(url: String, reason: String)
    case connect(url: String, reason: String)
    case timeout(url: String, phase: TimeoutPhase, after: Duration)
    case tls(url: String, reason: String)
    case protocolNotAllowed(url: String)
    /// The server answered, but not with an HTTP/1.x status line (an HTTP/0.9-style body, a
    /// malformed status, another protocol on the port).
    case notHTTP(url: String, reason: String)
    case other(url: String, code: Int, message: String)

    /// Which wait ran out.
    public enum TimeoutPhase: String, Sendable, Hashable {
        case connect = "connecting"
        case response = "waiting for the response"
    }

    /// The masked URL the error is about.
    public var url: String {
        switch self {
        case .invalidURL(let u, _), .connect(let u, _), .timeout(let u, _, _), .tls(let u, _),
             .protocolNotAllowed(let u), .notHTTP(let u, _), .other(let u, _, _):
            u
        }
    }

    public var description: String { "\(url): \(problem)" }

    /// What went wrong, without the URL that `description` puts first.
    private var problem: String {
        switch self {
        case .invalidURL(_, let r):
            "not a usable URL: \(r)"
        case .connect(_, let r):
            "cannot connect: \(r). Check that the service is running and listening on that address and port"
        case .timeout(_, let phase, let after):
            "timed out after \(after.secondsText) \(phase.rawValue). Raise the timeout only if the service is known to be this slow"
        case .tls(_, let r):
            "TLS failed: \(r). Fix the certificate or its CA; use insecure: true only for a test host you trust"
        case .protocolNotAllowed:
            "only http:// and https:// URLs are allowed"
        case .notHTTP(_, let r):
            "the server's answer is not an HTTP/1.x response (\(r)). Check that this port serves HTTP and not another protocol"
        case .other(_, let code, let m):
            "request failed (curl error \(code)): \(m)"
        }
    }
}

extension Duration {
    /// `250ms`, `1.5s`: short, for messages.
    var secondsText: String {
        let s = seconds
        if s < 1 { return "\(Int((s * 1000).rounded()))ms" }
        return s == s.rounded() ? "\(Int(s))s" : String(format: "%.3gs", s)
    }
}

/// Masks the parts of a URL that may carry secrets before it is shown anywhere.
public enum URLMask {
    /// `https://user:pw@host/p?token=abc` → `https://***@host/p?token=***`. Paths are kept: they
    /// name the endpoint. Query values are masked because tokens travel there.
    public static func display(_ url: String) -> String {
        var rest = Substring(url)
        var out = ""
        if let schemeEnd = rest.range(of: "://") {
            out += rest[..<schemeEnd.upperBound]
            rest = rest[schemeEnd.upperBound...]
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") {
            out += "\(Secret.mask)@" + authority[authority.index(after: at)...]
        } else {
            out += authority
        }
        rest = rest[authorityEnd...]
        if let fragment = rest.firstIndex(of: "#") { rest = rest[..<fragment] }
        guard let q = rest.firstIndex(of: "?") else { return out + rest }
        out += rest[..<q]
        let query = rest[rest.index(after: q)...]
        let masked = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            if let eq = pair.firstIndex(of: "=") { return String(pair[pair.startIndex..<eq]) + "=" + Secret.mask }
            return String(pair)
        }
        return out + "?" + masked.joined(separator: "&")
    }
}
