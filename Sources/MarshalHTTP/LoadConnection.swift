internal import CCurl
import Foundation

/// One keep-alive connection of the load generator.
///
/// libcurl opens it, through the worker's multi handle with CURLOPT_CONNECT_ONLY (so name
/// resolution, TCP connect, TLS with verification, and the connect timeout are libcurl's). The
/// HTTP/1.1 exchange on it is Marshal's: a prepared request per scenario and a small response
/// parser, as wrk has. A libcurl transfer per request costs about 7 µs of CPU in libcurl's own
/// set-up, connection-alive check and header handling; see docs/operations.md.
///
/// Plain HTTP: once connected, the socket is taken from libcurl (CURLINFO_ACTIVESOCKET; the
/// close-socket callback leaves it open when the handle is removed) and read and written with
/// recv/send, and the easy handle goes back to the worker's pool for the next connect.
/// curl_easy_send/recv look the connection up in the multi handle's cache on every call, a cost
/// that grows with the connection count (at 10,000 connections most of the CPU went there), and
/// an easy handle per connection holds tens of KiB. TLS stays on curl_easy_send/recv, which
/// encrypt, so a TLS connection keeps its handle.
final class LoadConnection {
    enum State {
        case closed, connecting, open
    }

    /// While connecting, and while open over TLS.
    private(set) var easy: EasyHandle?
    private(set) var state = State.closed
    private(set) var socket: Int32 = -1
    /// Requests answered on the current connection: a failure on a connection that served one
    /// before may be the server closing it while idle, and is retried once on a fresh one.
    var served = 0
    let isTLS: Bool
    /// errno of the last failed send or recv on a plain socket.
    private var lastErrno: Int32 = 0
    /// The kernel stamps what this plain socket receives (see `stampArrivals`).
    private(set) var stampsArrivals = false
    /// The kernel's arrival time (CLOCK_REALTIME nanoseconds) of the last bytes received, when
    /// `stampsArrivals`; else 0.
    private(set) var lastArrival: Int64 = 0

    init(isTLS: Bool) {
        self.isTLS = isTLS
    }

    /// A handle that connects to `url` (CONNECT_ONLY), for the worker's pool.
    static func connector(url: String, connectTimeout: Duration, insecure: Bool, multi: MultiHandle) throws(CurlFailure) -> EasyHandle {
        let easy = try EasyHandle()
        try easy.set(CURLOPT_URL, url)
        try easy.set(CURLOPT_CONNECT_ONLY, 1)
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, max(1, connectTimeout.milliseconds))
        try easy.setInsecure(insecure)
        // Load goes straight to the target: a proxy from the environment would be measured instead.
        try easy.set(CURLOPT_PROXY, "")
        if let port = selfConnectTestPort, URLComponents(string: url)?.port == port {
            try easy.set(CURLOPT_LOCALPORT, port)
        }
        try multi.adopt(easy)
        return easy
    }

    /// Tests only: connections to this port bind their own end to it too, which makes a connect
    /// to a port nothing listens on reach itself every time, as it does by chance in the wild.
    nonisolated(unsafe) static var selfConnectTestPort: Int?

    /// Starts connecting with `easy`; the multi handle reports the end through
    /// `curl_multi_info_read`, naming `index` (CURLOPT_PRIVATE).
    func connect(with easy: EasyHandle, index: Int, through multi: MultiHandle) -> Bool {
        guard (try? easy.set(CURLOPT_PRIVATE, pointer: UnsafeMutableRawPointer(bitPattern: index + 1))) != nil,
              multi.add(easy) else { return false }
        self.easy = easy
        state = .connecting
        served = 0
        return true
    }

    /// The connect finished well: the socket is ours to watch from now on. A plain connection's
    /// handle is returned (`spare`) for the pool.
    func connected(through multi: MultiHandle) -> (ok: Bool, spare: EasyHandle?) {
        guard let easy else { return (false, nil) }
        var fd: curl_socket_t = MARSHAL_CURL_SOCKET_BAD
        guard marshal_easy_getinfo_socket(easy.raw, &fd) == CURLE_OK, fd != MARSHAL_CURL_SOCKET_BAD else { return (false, nil) }
        socket = fd
        state = .open
        guard !isTLS else { return (true, nil) }
        multi.keepOpen(fd)
        multi.remove(easy)
        self.easy = nil
        return (true, easy)
    }

    /// From now on, a receive also gives the kernel's arrival time of its bytes (SO_TIMESTAMPNS),
    /// so an answer read late is still timed when it arrived. Plain sockets only: TLS data is read
    /// through libcurl.
    func stampArrivals() {
        guard state == .open, easy == nil else { return }
        stampsArrivals = marshal_socket_stamp_arrivals(socket) == 0
    }

    /// Connected to itself: see `marshal_socket_self_connected`.
    var isSelfConnected: Bool { state == .open && marshal_socket_self_connected(socket) != 0 }

    /// Closes the connection at once and hands back the easy handle it held, if any. Removing a
    /// CONNECT_ONLY handle from its multi handle makes libcurl close its connection
    /// (curl_multi_remove_handle in 7.88); a plain socket taken from libcurl is closed here.
    func close(through multi: MultiHandle) -> EasyHandle? {
        if state == .open { multi.release(socket) }
        if let easy {
            multi.remove(easy)
        } else if state == .open {
            multi.closeKept(socket)
        }
        let handle = easy
        easy = nil
        state = .closed
        socket = -1
        stampsArrivals = false
        lastArrival = 0
        return handle
    }

    /// Why a connect, send or receive failed: errno's text for a plain socket, else libcurl's
    /// error buffer, else the code's text.
    func failureText(_ code: CURLcode) -> String {
        if lastErrno != 0 {
            defer { lastErrno = 0 }
            return String(cString: strerror(lastErrno))
        }
        guard let easy else { return String(cString: curl_easy_strerror(code)) }
        let detail = easy.lastErrorText
        easy.clearError()
        return detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
    }

    func send(_ bytes: UnsafeRawBufferPointer) -> (count: Int, code: CURLcode) {
        transfer(plain: { marshal_socket_send(socket, bytes.baseAddress, bytes.count) },
                 curl: { raw, count in curl_easy_send(raw, bytes.baseAddress, bytes.count, &count) }, failure: CURLE_SEND_ERROR)
    }

    func receive(into buffer: UnsafeMutableRawBufferPointer) -> (count: Int, code: CURLcode) {
        transfer(plain: {
            guard stampsArrivals else { return marshal_socket_recv(socket, buffer.baseAddress, buffer.count) }
            var stamp: Int64 = 0
            let count = marshal_socket_recv_stamped(socket, buffer.baseAddress, buffer.count, &stamp)
            if stamp != 0 { lastArrival = stamp }
            return count
        },
                 curl: { raw, count in curl_easy_recv(raw, buffer.baseAddress, buffer.count, &count) }, failure: CURLE_RECV_ERROR)
    }

    /// One send or receive: on the plain socket once an open connection let its handle go, else
    /// through libcurl (TLS). A plain -1 becomes `failure` (or CURLE_AGAIN).
    private func transfer(plain: () -> Int, curl: (UnsafeMutableRawPointer, inout Int) -> CURLcode, failure: CURLcode) -> (count: Int, code: CURLcode) {
        guard let easy else {
            let count = plain()
            if count >= 0 { return (count, CURLE_OK) }
            return failed(failure)
        }
        var count = 0
        let code = curl(easy.raw, &count)
        return (count, code)
    }

    /// send/recv returned -1: EAGAIN reads as libcurl's CURLE_AGAIN, anything else as `code`.
    private func failed(_ code: CURLcode) -> (count: Int, code: CURLcode) {
        let error = marshal_errno()
        if marshal_would_block(error) != 0 { return (0, CURLE_AGAIN) }
        lastErrno = error
        return (0, code)
    }
}
