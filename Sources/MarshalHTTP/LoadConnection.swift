internal import CCurl
import Foundation

/// One keep-alive connection of the load generator.
///
/// libcurl opens it, through the worker's multi handle with CURLOPT_CONNECT_ONLY (so TCP connect,
/// TLS with verification, and the connect timeout are libcurl's), and carries its bytes
/// (curl_easy_send and curl_easy_recv, which go through TLS when there is one). The HTTP/1.1
/// exchange on it is Marshal's: a prepared request per scenario and a small response parser, as
/// wrk has. A libcurl transfer per request costs about 7 µs of CPU in libcurl's own set-up,
/// connection-alive check and header handling, as much as the kernel's whole share of the
/// request, and held Marshal to 62 % of wrk's rate on two cores; see docs/operations.md.
final class LoadConnection {
    enum State {
        case closed, connecting, open
    }

    let easy: EasyHandle
    private(set) var state = State.closed
    private(set) var socket: Int32 = -1
    /// Requests answered on the current connection: a failure on a connection that served one
    /// before may be the server closing it while idle, and is retried once on a fresh one.
    var served = 0
    let isTLS: Bool

    init(url: String, connectTimeout: Duration, insecure: Bool, index: Int) throws(CurlFailure) {
        easy = try EasyHandle()
        isTLS = url.lowercased().hasPrefix("https:")
        try easy.set(CURLOPT_URL, url)
        try easy.set(CURLOPT_CONNECT_ONLY, 1)
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, max(1, connectTimeout.milliseconds))
        try easy.setInsecure(insecure)
        // Load goes straight to the target: a proxy from the environment would be measured instead.
        try easy.set(CURLOPT_PROXY, "")
        try easy.set(CURLOPT_PRIVATE, pointer: UnsafeMutableRawPointer(bitPattern: index + 1))
    }

    /// Starts connecting; the multi handle reports the end through `curl_multi_info_read`.
    func connect(through multi: MultiHandle) -> Bool {
        guard multi.add(easy) else { return false }
        state = .connecting
        served = 0
        return true
    }

    /// The connect finished well: the socket is ours to watch from now on.
    func connected() -> Bool {
        var fd: curl_socket_t = MARSHAL_CURL_SOCKET_BAD
        guard marshal_easy_getinfo_socket(easy.raw, &fd) == CURLE_OK, fd != MARSHAL_CURL_SOCKET_BAD else { return false }
        socket = fd
        state = .open
        return true
    }

    /// Closes the connection at once: removing a CONNECT_ONLY handle from its multi handle makes
    /// libcurl close the connection (curl_multi_remove_handle in 7.88).
    func close(through multi: MultiHandle) {
        if state == .open { multi.release(socket) }
        if state != .closed { multi.remove(easy) }
        state = .closed
        socket = -1
    }

    /// libcurl's words for a failed connect, send or receive: its error buffer, else the code's text.
    func failureText(_ code: CURLcode) -> String {
        let detail = easy.lastErrorText
        easy.clearError()
        return detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
    }

    func send(_ bytes: UnsafeRawBufferPointer) -> (count: Int, code: CURLcode) {
        var written = 0
        let code = curl_easy_send(easy.raw, bytes.baseAddress, bytes.count, &written)
        return (written, code)
    }

    func receive(into buffer: UnsafeMutableRawBufferPointer) -> (count: Int, code: CURLcode) {
        var read = 0
        let code = curl_easy_recv(easy.raw, buffer.baseAddress, buffer.count, &read)
        return (read, code)
    }
}
