internal import CCurl
import Foundation
import MarshalCore

/// HTTP probes over libcurl's easy interface. Requests run on at most `maxConcurrent` threads of
/// the client's own, because `curl_easy_perform` blocks and must never occupy Swift's cooperative
/// pool; more requests at once (a health check on 1,000 hosts) wait for a thread instead of
/// starting a thousand.
public struct CurlHTTPClient: HTTPClient {
    /// Larger bodies fail the request rather than grow memory without bound.
    public var maxBodyBytes: Int
    private let threads: BlockingThreads

    public init(maxBodyBytes: Int = 16 << 20, maxConcurrent: Int = 32) {
        self.maxBodyBytes = maxBodyBytes
        self.threads = BlockingThreads(limit: max(1, maxConcurrent), name: "marshal-http")
    }

    /// How many requests may be in flight at once.
    public var maxConcurrent: Int { threads.limit }

    public func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        let limit = maxBodyBytes
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<HTTPResponse, HTTPError>, Never>) in
            threads.run {
                continuation.resume(returning: Self.perform(request, maxBodyBytes: limit))
            }
        }
        return try result.get()
    }

    static func perform(_ request: HTTPRequest, maxBodyBytes: Int) -> Result<HTTPResponse, HTTPError> {
        let shown = URLMask.display(request.url)
        let handle: EasyHandle
        do {
            handle = try EasyHandle()
            try handle.set(CURLOPT_URL, request.url)
            try handle.setMethod(request.method, body: request.body)
            try handle.setHeaders(request.headers, hasBody: !request.body.isEmpty)
            try handle.setTimeouts(total: request.timeout, connect: request.connectTimeout)
            try handle.setInsecure(request.insecure)
        } catch {
            return .failure(.other(url: shown, code: error.code, message: error.message))
        }
        let sink = ResponseSink(limit: maxBodyBytes)
        let context = Unmanaged.passUnretained(sink).toOpaque()
        do {
            try handle.setFunction(CURLOPT_WRITEFUNCTION, { data, size, count, context in
                guard let context else { return 0 }
                let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
                return sink.appendBody(data, size * count)
            })
            try handle.set(CURLOPT_WRITEDATA, pointer: context)
            try handle.setFunction(CURLOPT_HEADERFUNCTION, { data, size, count, context in
                guard let context else { return 0 }
                let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
                return sink.appendHeaderLine(data, size * count)
            })
            try handle.set(CURLOPT_HEADERDATA, pointer: context)
        } catch {
            return .failure(.other(url: shown, code: error.code, message: error.message))
        }
        let code = withExtendedLifetime(sink) { curl_easy_perform(handle.raw) }
        guard code == CURLE_OK else {
            if code == CURLE_WRITE_ERROR && sink.overflowed {
                return .failure(.other(url: shown, code: Int(code.rawValue), message: "response body is larger than \(maxBodyBytes) bytes"))
            }
            let connected = handle.time(CURLINFO_CONNECT_TIME_T) > .zero
            return .failure(httpError(code: code, detail: handle.lastErrorText, url: request.url, connected: connected, requestSent: handle.requestSize > 0,
                                      timeout: request.timeout, connectTimeout: request.connectTimeout))
        }
        let timings = HTTPTimings(
            total: handle.time(CURLINFO_TOTAL_TIME_T),
            connect: handle.time(CURLINFO_CONNECT_TIME_T),
            ttfb: handle.time(CURLINFO_STARTTRANSFER_TIME_T)
        )
        return .success(HTTPResponse(status: handle.responseCode, headers: sink.headers, body: sink.body, timings: timings))
    }
}

/// Where one transfer's callbacks write. Reached from C through an unretained pointer while
/// `curl_easy_perform` runs on the owning thread.
final class ResponseSink {
    let limit: Int
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
    var overflowed = false

    init(limit: Int) {
        self.limit = limit
    }

    func appendBody(_ data: UnsafeMutablePointer<CChar>?, _ length: Int) -> Int {
        guard let data, length > 0 else { return length }
        if body.count + length > limit {
            overflowed = true
            return 0
        }
        body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
        return length
    }

    /// libcurl passes one header line per call, status lines included; a new status line starts a
    /// new header block (after `100 Continue` or a redirect), so only the last response's headers stay.
    func appendHeaderLine(_ data: UnsafeMutablePointer<CChar>?, _ length: Int) -> Int {
        guard let data, length > 0 else { return length }
        let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if line.hasPrefix("HTTP/") {
            headers.removeAll()
        } else if let colon = line.firstIndex(of: ":") {
            let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            headers.append((name, value))
        }
        return length
    }
}
