internal import CCurl
import Foundation
import MarshalCore

/// One scenario's request as the bytes that go on the wire, built once per run and sent unchanged
/// for every request, as wrk does. libcurl's URL parser splits the URL; the head carries what
/// libcurl itself would send (`Host`, `Accept: */*`, `Content-Length` with a body) plus the
/// scenario's headers, which replace a default of the same name.
struct WireRequest {
    let bytes: [UInt8]
    /// HEAD: the answer has no body whatever its headers say.
    let bodiless: Bool

    init(url: String, method: String, headers: [(name: String, value: String)], body: [UInt8]) throws(CurlFailure) {
        let parts = try URLParts(url)
        let upper = method.uppercased()
        var lines = ["\(upper) \(parts.target) HTTP/1.1"]
        let given = Set(headers.map { $0.name.lowercased() })
        if !given.contains("host") { lines.append("Host: \(parts.authority)") }
        if !given.contains("accept") { lines.append("Accept: */*") }
        if !given.contains("authorization"), let credentials = parts.credentials {
            // As libcurl does for a URL with user:password@: HTTP Basic (RFC 7617).
            lines.append("Authorization: Basic \(Data(credentials.utf8).base64EncodedString())")
        }
        for h in headers where !["content-length", "transfer-encoding"].contains(h.name.lowercased()) {
            lines.append("\(h.name): \(h.value)")
        }
        if !body.isEmpty || ["POST", "PUT", "PATCH"].contains(upper) {
            lines.append("Content-Length: \(body.count)")
        }
        bytes = Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8) + body
        bodiless = upper == "HEAD"
    }
}

/// The pieces of an http(s) URL a request head needs.
struct URLParts {
    /// "host" or "host:port" when the port is not the scheme's default.
    let authority: String
    /// Path and query: "/api/items?page=2".
    let target: String
    /// "user:password" from the URL's userinfo, percent-decoded; nil when it has none.
    let credentials: String?

    init(_ url: String) throws(CurlFailure) {
        guard let handle = curl_url() else { throw CurlFailure(code: -1, message: "curl_url returned no handle (out of memory?)") }
        defer { curl_url_cleanup(handle) }
        let set = curl_url_set(handle, CURLUPART_URL, url, 0)
        guard set == CURLUE_OK else {
            throw CurlFailure(code: Int(set.rawValue), message: "\(URLMask.display(url)) is not a valid URL: \(String(cString: curl_url_strerror(set)))")
        }
        func part(_ what: CURLUPart, _ flags: UInt32 = 0) -> String? {
            var out: UnsafeMutablePointer<CChar>?
            guard curl_url_get(handle, what, &out, flags) == CURLUE_OK, let out else { return nil }
            defer { curl_free(out) }
            return String(cString: out)
        }
        let host = part(CURLUPART_HOST) ?? ""
        let port = part(CURLUPART_PORT, UInt32(CURLU_NO_DEFAULT_PORT))
        authority = port.map { "\(host):\($0)" } ?? host
        let path = part(CURLUPART_PATH) ?? "/"
        let query = part(CURLUPART_QUERY)
        target = (path.isEmpty ? "/" : path) + (query.map { "?\($0)" } ?? "")
        let decode = UInt32(CURLU_URLDECODE)
        credentials = part(CURLUPART_USER, decode).map { "\($0):\(part(CURLUPART_PASSWORD, decode) ?? "")" }
    }
}
