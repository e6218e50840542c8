internal import CCurl
import Foundation
import MarshalCore

/// libcurl's process-wide setup, done once before any handle exists (curl_global_init(3) is not
/// thread-safe, so every handle's init goes through here).
enum CurlRuntime {
    private static let initialized: Bool = curl_global_init(MARSHAL_CURL_GLOBAL_DEFAULT) == CURLE_OK

    static func ensureInitialized() -> Bool { initialized }
}

/// A libcurl failure before any URL is involved (no handle, an option refused).
struct CurlFailure: Error {
    let code: Int
    let message: String
}

/// One easy handle: one transfer at a time, reused for the next so its connection cache is kept.
final class EasyHandle {
    let raw: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headerList: UnsafeMutablePointer<curl_slist>?

    init() throws(CurlFailure) {
        guard CurlRuntime.ensureInitialized() else { throw CurlFailure(code: -1, message: "curl_global_init failed") }
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(MARSHAL_CURL_ERROR_SIZE))
        buffer.initialize(repeating: 0, count: Int(MARSHAL_CURL_ERROR_SIZE))
        guard let handle = curl_easy_init() else {
            // deinit does not run when init fails before every stored property is set.
            buffer.deallocate()
            throw CurlFailure(code: -1, message: "curl_easy_init returned no handle (out of memory?)")
        }
        errorBuffer = buffer
        raw = handle
        // From here on deinit frees both; never free them in this init as well.
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        // Signals for DNS timeouts are unsafe in a threaded process (curl_easy_setopt(3), CURLOPT_NOSIGNAL).
        try set(CURLOPT_NOSIGNAL, 1)
        try set(CURLOPT_PROTOCOLS_STR, "http,https")
        try set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        try set(CURLOPT_TCP_NODELAY, 1)
    }

    deinit {
        curl_easy_cleanup(raw)
        if let headerList { curl_slist_free_all(headerList) }
        errorBuffer.deallocate()
    }

    /// The text libcurl left for the last failed transfer, or "" when none.
    var lastErrorText: String { String(cString: errorBuffer) }

    func clearError() { errorBuffer[0] = 0 }

    func set(_ option: CURLoption, _ value: Int) throws(CurlFailure) {
        try check(marshal_easy_setopt_long(raw, option, value), option)
    }

    func set(_ option: CURLoption, _ value: String) throws(CurlFailure) {
        // libcurl copies string options (curl_easy_setopt(3)); POSTFIELDS, which it does not copy, goes through `setBody`.
        try check(value.withCString { marshal_easy_setopt_string(raw, option, $0) }, option)
    }

    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws(CurlFailure) {
        try check(marshal_easy_setopt_pointer(raw, option, pointer), option)
    }

    /// COPYPOSTFIELDS copies, so the array need not outlive this call.
    func setBody(_ bytes: [UInt8]) throws(CurlFailure) {
        try check(marshal_easy_setopt_off_t(raw, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count)), CURLOPT_POSTFIELDSIZE_LARGE)
        let code = bytes.withUnsafeBufferPointer { buffer -> CURLcode in
            guard let base = buffer.baseAddress else { return marshal_easy_setopt_string(raw, CURLOPT_COPYPOSTFIELDS, "") }
            return base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                marshal_easy_setopt_string(raw, CURLOPT_COPYPOSTFIELDS, $0)
            }
        }
        try check(code, CURLOPT_COPYPOSTFIELDS)
    }

    func setFunction(_ option: CURLoption, _ function: curl_write_callback) throws(CurlFailure) {
        try check(marshal_easy_setopt_write_function(raw, option, function), option)
    }

    func setOpenSocketFunction(_ function: curl_opensocket_callback) throws(CurlFailure) {
        try check(marshal_easy_setopt_opensocket_function(raw, function), CURLOPT_OPENSOCKETFUNCTION)
    }

    func setCloseSocketFunction(_ function: curl_closesocket_callback) throws(CurlFailure) {
        try check(marshal_easy_setopt_closesocket_function(raw, function), CURLOPT_CLOSESOCKETFUNCTION)
    }

    /// Replaces the request headers. With a body, `Expect:` is sent empty so libcurl never waits
    /// for `100 Continue`; without one no list is set at all.
    func setHeaders(_ headers: [(name: String, value: String)], hasBody: Bool) throws(CurlFailure) {
        var list: UnsafeMutablePointer<curl_slist>?
        for line in headers.map({ "\($0.name): \($0.value)" }) + (hasBody ? ["Expect:"] : []) {
            guard let next = curl_slist_append(list, line) else {
                if let list { curl_slist_free_all(list) }
                throw CurlFailure(code: -1, message: "out of memory building headers")
            }
            list = next
        }
        try check(marshal_easy_setopt_slist(raw, CURLOPT_HTTPHEADER, list), CURLOPT_HTTPHEADER)
        if let headerList { curl_slist_free_all(headerList) }
        headerList = list
    }

    /// Sets method and body the way libcurl expects each method.
    func setMethod(_ method: String, body: [UInt8]) throws(CurlFailure) {
        let upper = method.uppercased()
        try set(CURLOPT_CUSTOMREQUEST, pointer: nil)
        try set(CURLOPT_NOBODY, 0)
        switch upper {
        case "GET" where body.isEmpty:
            try set(CURLOPT_HTTPGET, 1)
        case "HEAD":
            try set(CURLOPT_NOBODY, 1)
        default:
            if body.isEmpty && !["POST", "PUT", "PATCH"].contains(upper) {
                try set(CURLOPT_HTTPGET, 1)
            } else {
                try set(CURLOPT_POST, 1)
                try setBody(body)
            }
            if upper != "POST" { try set(CURLOPT_CUSTOMREQUEST, upper) }
        }
    }

    func setTimeouts(total: Duration, connect: Duration) throws(CurlFailure) {
        try set(CURLOPT_TIMEOUT_MS, max(1, total.milliseconds))
        try set(CURLOPT_CONNECTTIMEOUT_MS, max(1, connect.milliseconds))
    }

    func setInsecure(_ insecure: Bool) throws(CurlFailure) {
        try set(CURLOPT_SSL_VERIFYPEER, insecure ? 0 : 1)
        try set(CURLOPT_SSL_VERIFYHOST, insecure ? 0 : 2)
    }

    /// Bytes of request sent by the last transfer: 0 when it never reached a server.
    var requestSize: Int {
        var size = 0
        _ = marshal_easy_getinfo_long(raw, CURLINFO_REQUEST_SIZE, &size)
        return size
    }

    var responseCode: Int {
        var code = 0
        _ = marshal_easy_getinfo_long(raw, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    /// A `*_TIME_T` info value (microseconds) as a Duration.
    func time(_ info: CURLINFO) -> Duration {
        var micros: curl_off_t = 0
        _ = marshal_easy_getinfo_off_t(raw, info, &micros)
        return .microseconds(micros)
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws(CurlFailure) {
        guard code == CURLE_OK else {
            throw CurlFailure(code: Int(code.rawValue), message: "libcurl refused option \(option.rawValue): \(String(cString: curl_easy_strerror(code)))")
        }
    }
}

extension Duration {
    var milliseconds: Int {
        let (s, atto) = components
        return Int(s) * 1000 + Int(atto / 1_000_000_000_000_000)
    }

    var secondsDouble: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}

/// How the load generator counts a failed transfer.
enum FailureClass {
    case connect, timeout, other
}

func failureClass(_ code: CURLcode) -> FailureClass {
    switch code {
    case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: .connect
    case CURLE_OPERATION_TIMEDOUT: .timeout
    default: .other
    }
}

/// Maps a libcurl result code to the operator-facing error. Branches on the code only; the
/// error buffer's text is carried along as detail.
func httpError(code: CURLcode, detail: String, url: String, connected: Bool, requestSent: Bool, timeout: Duration, connectTimeout: Duration) -> HTTPError {
    let shown = URLMask.display(url)
    let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
    switch code {
    case CURLE_UNSUPPORTED_PROTOCOL where requestSent:
        // The same code covers a scheme outside http/https (nothing is sent) and an answer with
        // no valid status line (HTTP/0.9 or a malformed status, after the request went out).
        return .notHTTP(url: shown, reason: "no valid status line; libcurl: \(text)")
    case CURLE_UNSUPPORTED_PROTOCOL:
        return .protocolNotAllowed(url: shown)
    case CURLE_URL_MALFORMAT:
        return .invalidURL(url: shown, reason: text)
    case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
        return .connect(url: shown, reason: text)
    case CURLE_OPERATION_TIMEDOUT:
        return connected ? .timeout(url: shown, phase: .response, after: timeout)
            : .timeout(url: shown, phase: .connect, after: connectTimeout)
    case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
         CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
         CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
         CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE, CURLE_USE_SSL_FAILED:
        return .tls(url: shown, reason: text)
    default:
        return .other(url: shown, code: Int(code.rawValue), message: text)
    }
}
