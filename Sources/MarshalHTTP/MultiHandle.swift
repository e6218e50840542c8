internal import CCurl
import Foundation

/// One multi handle driven through `curl_multi_socket_action` and an epoll set of its own, so a
/// wake-up touches only the sockets that are ready. Easy handles must be removed before this
/// object goes away (the load worker does so when it finishes).
final class MultiHandle {
    let raw: UnsafeMutableRawPointer
    private let events: SocketEvents

    /// `connections` caps open connections and keeps that many idle ones cached for reuse.
    init(connections: Int) throws(CurlFailure) {
        guard CurlRuntime.ensureInitialized() else { throw CurlFailure(code: -1, message: "curl_global_init failed") }
        let events = try SocketEvents()
        guard let handle = curl_multi_init() else {
            throw CurlFailure(code: -1, message: "curl_multi_init returned no handle (out of memory?)")
        }
        raw = handle
        self.events = events
        try set(CURLMOPT_MAX_HOST_CONNECTIONS, connections)
        try set(CURLMOPT_MAX_TOTAL_CONNECTIONS, connections)
        try set(CURLMOPT_MAXCONNECTS, connections)
        let context = Unmanaged.passUnretained(events).toOpaque()
        try check(marshal_multi_setopt_pointer(raw, CURLMOPT_SOCKETDATA, context), "SOCKETDATA")
        try check(marshal_multi_setopt_pointer(raw, CURLMOPT_TIMERDATA, context), "TIMERDATA")
        // Both callbacks run inside libcurl calls on this thread; they reach `events` through the
        // unretained pointer, which this object keeps alive for as long as the multi handle.
        try check(marshal_multi_setopt_socket_function(raw) { _, socket, what, context, _ in
            guard let context else { return -1 }
            Unmanaged<SocketEvents>.fromOpaque(context).takeUnretainedValue().watch(socket, what: what)
            return 0
        }, "SOCKETFUNCTION")
        try check(marshal_multi_setopt_timer_function(raw) { _, milliseconds, context in
            guard let context else { return -1 }
            Unmanaged<SocketEvents>.fromOpaque(context).takeUnretainedValue().setTimer(milliseconds: milliseconds)
            return 0
        }, "TIMERFUNCTION")
    }

    deinit {
        curl_multi_cleanup(raw)
    }

    private func set(_ option: CURLMoption, _ value: Int) throws(CurlFailure) {
        try check(marshal_multi_setopt_long(raw, option, value), "option \(option.rawValue)")
    }

    private func check(_ code: CURLMcode, _ what: String) throws(CurlFailure) {
        guard code == CURLM_OK else {
            throw CurlFailure(code: Int(code.rawValue), message: "libcurl refused multi \(what): \(String(cString: curl_multi_strerror(code)))")
        }
    }

    func add(_ easy: EasyHandle) -> Bool {
        curl_multi_add_handle(raw, easy.raw) == CURLM_OK
    }

    func remove(_ easy: EasyHandle) {
        _ = curl_multi_remove_handle(raw, easy.raw)
    }

    /// Waits up to `milliseconds` (less when libcurl's timer or `timer` is due), then lets libcurl
    /// handle every ready socket and expired timer.
    func wait(milliseconds: Int, timer: SendTimer?) {
        var timeout = milliseconds
        if let due = events.timerDue {
            let now = monotonicNanos()
            timeout = due <= now ? 0 : min(timeout, Int((due - now + 999_999) / 1_000_000))
        }
        if let timer { events.include(timer) }
        var running: Int32 = 0
        let count = events.poll(timeout: timeout)
        for i in 0..<count {
            let fd = events.readyFDs[i]
            if let timer, fd == timer.fd {
                timer.drain()
                continue
            }
            let bits = events.readyBits[i]
            var mask: Int32 = 0
            if bits & MARSHAL_EPOLLIN != 0 { mask |= CURL_CSELECT_IN }
            if bits & MARSHAL_EPOLLOUT != 0 { mask |= CURL_CSELECT_OUT }
            if bits & MARSHAL_EPOLLERR != 0 { mask |= CURL_CSELECT_ERR }
            _ = curl_multi_socket_action(raw, fd, mask, &running)
        }
        if let due = events.timerDue, due <= monotonicNanos() {
            // Cleared first: the timer callback may set a new deadline during the call.
            events.timerDue = nil
            _ = curl_multi_socket_action(raw, MARSHAL_CURL_SOCKET_TIMEOUT, 0, &running)
        }
    }

    /// The next finished transfer, if any: its easy handle and result code.
    func nextFinished() -> (easy: UnsafeMutableRawPointer, code: CURLcode)? {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(raw, &remaining) {
            if message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle {
                return (easy, message.pointee.data.result)
            }
        }
        return nil
    }
}

/// The epoll set and libcurl's timer deadline, updated by the multi handle's callbacks.
final class SocketEvents {
    let epoll: Int32
    var timerDue: UInt64?
    private(set) var readyFDs = [Int32](repeating: 0, count: 64)
    private(set) var readyBits = [UInt32](repeating: 0, count: 64)
    private var watchedTimer: Int32 = -1

    init() throws(CurlFailure) {
        epoll = marshal_epoll_create()
        guard epoll >= 0 else { throw CurlFailure(code: -1, message: "epoll_create1 failed: errno \(errno)") }
    }

    deinit {
        close(epoll)
    }

    func watch(_ socket: curl_socket_t, what: Int32) {
        switch what {
        case CURL_POLL_REMOVE:
            _ = marshal_epoll_unwatch(epoll, socket)
        default:
            var bits: UInt32 = 0
            if what & CURL_POLL_IN != 0 { bits |= MARSHAL_EPOLLIN }
            if what & CURL_POLL_OUT != 0 { bits |= MARSHAL_EPOLLOUT }
            _ = marshal_epoll_watch(epoll, socket, bits)
        }
    }

    /// curl_multi_timer_callback(3): -1 deletes the timer, 0 means "call me now".
    func setTimer(milliseconds: Int) {
        timerDue = milliseconds < 0 ? nil : monotonicNanos() + UInt64(milliseconds) * 1_000_000
    }

    func include(_ timer: SendTimer) {
        guard watchedTimer != timer.fd else { return }
        _ = marshal_epoll_watch(epoll, timer.fd, MARSHAL_EPOLLIN)
        watchedTimer = timer.fd
    }

    func poll(timeout: Int) -> Int {
        let count = readyFDs.withUnsafeMutableBufferPointer { fds in
            readyBits.withUnsafeMutableBufferPointer { bits in
                marshal_epoll_wait(epoll, fds.baseAddress, bits.baseAddress, 64, Int32(clamping: timeout))
            }
        }
        return max(0, Int(count))
    }
}

/// A timerfd armed at the next planned send, so waits end on time to the microsecond.
final class SendTimer {
    let fd: Int32

    init() throws(CurlFailure) {
        fd = marshal_timerfd_create()
        guard fd >= 0 else { throw CurlFailure(code: -1, message: "timerfd_create failed: errno \(errno)") }
    }

    deinit {
        close(fd)
    }

    func arm(atMonotonicNanos nanos: UInt64) {
        _ = marshal_timerfd_arm(fd, max(nanos, 1))
    }

    func drain() {
        marshal_timerfd_drain(fd)
    }
}
