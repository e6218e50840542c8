internal import CCurl
import Foundation

/// One multi handle driven through `curl_multi_socket_action` and an epoll set of its own, so a
/// wake-up touches only the sockets that are ready. Easy handles must be removed before this
/// object goes away (the load worker does so when it finishes).
final class MultiHandle {
    let raw: UnsafeMutableRawPointer
    private let events: SocketEvents

    /// The load worker caps its connections itself (one per slot); `connections` sizes libcurl's cache.
    init(connections: Int) throws(CurlFailure) {
        guard CurlRuntime.ensureInitialized() else { throw CurlFailure(code: -1, message: "curl_global_init failed") }
        let events = try SocketEvents()
        guard let handle = curl_multi_init() else {
            throw CurlFailure(code: -1, message: "curl_multi_init returned no handle (out of memory?)")
        }
        raw = handle
        self.events = events
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

    /// Makes libcurl open `easy`'s sockets through this multi handle, so the epoll bookkeeping
    /// learns of every new socket (see `SocketEvents.opened`). Called once per easy handle.
    func adopt(_ easy: EasyHandle) throws(CurlFailure) {
        let context = Unmanaged.passUnretained(events).toOpaque()
        try easy.set(CURLOPT_OPENSOCKETDATA, pointer: context)
        try easy.setOpenSocketFunction { context, _, address in
            guard let context, let address else { return MARSHAL_CURL_SOCKET_BAD }
            let socket = marshal_open_socket(address)
            if socket >= 0 { Unmanaged<SocketEvents>.fromOpaque(context).takeUnretainedValue().opened(socket) }
            return socket
        }
        try easy.set(CURLOPT_CLOSESOCKETDATA, pointer: context)
        try easy.setCloseSocketFunction { context, socket in
            // A socket the worker took over (`keepOpen`) stays open: it is the worker's to close.
            if let context, Unmanaged<SocketEvents>.fromOpaque(context).takeUnretainedValue().isKept(socket) { return 0 }
            return close(socket)
        }
    }

    /// The worker takes `socket` from libcurl: libcurl's close of it (as its handle is removed) is skipped.
    func keepOpen(_ socket: Int32) {
        events.keep(socket)
    }

    /// Closes a socket taken with `keepOpen` (released from the epoll set first).
    func closeKept(_ socket: Int32) {
        events.unkeep(socket)
        close(socket)
    }

    func add(_ easy: EasyHandle) -> Bool {
        curl_multi_add_handle(raw, easy.raw) == CURLM_OK
    }

    func remove(_ easy: EasyHandle) {
        _ = curl_multi_remove_handle(raw, easy.raw)
    }

    /// Watches a connected socket for the load worker: its readiness comes back from `wait`
    /// instead of going to libcurl. `write` adds EPOLLOUT to EPOLLIN.
    func claim(_ socket: Int32, write: Bool) {
        events.claim(socket, bits: write ? MARSHAL_EPOLLIN | MARSHAL_EPOLLOUT : MARSHAL_EPOLLIN)
    }

    /// Stops watching a claimed socket (before libcurl closes it).
    func release(_ socket: Int32) {
        events.release(socket)
    }

    /// Claimed sockets found ready by the last `wait`: `ownedReady[i]` and its EPOLL bits.
    var ownedReady: ArraySlice<Int32> { events.ownedFDs[0..<events.ownedCount] }
    var ownedBits: ArraySlice<UInt32> { events.ownedBits[0..<events.ownedCount] }

    /// Descriptors the last `wait` found ready; `readyLimit` of them means more may be ready.
    private(set) var lastReadyCount = 0
    static var readyLimit: Int { 64 }

    /// Waits up to `milliseconds`, less when libcurl's timer is due or until `deadline` (monotonic
    /// nanoseconds: the open loop's next planned send, kept to the microsecond), then lets
    /// libcurl handle every ready socket and expired timer; ready claimed sockets are left in
    /// `ownedReady`.
    func wait(milliseconds: Int, until deadline: UInt64? = nil) {
        events.ownedCount = 0
        let now = monotonicNanos()
        var timeout = Int64(milliseconds) * 1_000_000
        if let due = events.timerDue {
            timeout = due <= now ? 0 : min(timeout, Int64(due - now))
        }
        if let deadline {
            timeout = deadline <= now ? 0 : min(timeout, Int64(deadline - now))
        }
        var running: Int32 = 0
        let count = events.poll(timeoutNanos: timeout)
        lastReadyCount = count
        for i in 0..<count {
            let fd = events.readyFDs[i]
            let bits = events.readyBits[i]
            if events.isOwned(fd) {
                events.ownedFDs[events.ownedCount] = fd
                events.ownedBits[events.ownedCount] = bits
                events.ownedCount += 1
                continue
            }
            guard events.isWanted(fd) else {
                events.forget(fd)
                continue
            }
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
///
/// libcurl watches a socket only while it connects; when the CONNECT_ONLY transfer is done it
/// says CURL_POLL_REMOVE, and the load worker claims the socket for its requests. The socket stays
/// in the epoll set across that hand-over, so a claim with the same events costs no epoll_ctl. An
/// event on a socket nobody wants removes it then. A socket number libcurl opens anew starts out
/// of the set, as the kernel dropped the old socket's registration when it closed.
final class SocketEvents {
    let epoll: Int32
    var timerDue: UInt64?
    private(set) var readyFDs = [Int32](repeating: 0, count: 64)
    private(set) var readyBits = [UInt32](repeating: 0, count: 64)
    /// What is known of one descriptor: the events epoll watches for it (0: not in the set),
    /// whether libcurl wants them, and whether the load worker has claimed the socket (a
    /// connected CONNECT_ONLY one).
    private struct SocketState {
        var registered: UInt32 = 0
        var wanted = false
        var owned = false
        /// Taken over from libcurl: its close-socket callback must leave it open.
        var kept = false
    }

    /// By descriptor.
    private var sockets: [SocketState] = []
    var ownedFDs = [Int32](repeating: 0, count: 64)
    var ownedBits = [UInt32](repeating: 0, count: 64)
    var ownedCount = 0

    init() throws(CurlFailure) {
        epoll = marshal_epoll_create()
        guard epoll >= 0 else { throw CurlFailure(code: -1, message: "epoll_create1 failed: errno \(errno)") }
    }

    deinit {
        close(epoll)
    }

    func watch(_ socket: curl_socket_t, what: Int32) {
        guard let fd = slot(socket) else { return }
        // A claimed socket is the worker's; libcurl only says it let go of it.
        if sockets[fd].owned { return }
        guard what != CURL_POLL_REMOVE else {
            sockets[fd].wanted = false
            return
        }
        sockets[fd].wanted = true
        var bits: UInt32 = 0
        if what & CURL_POLL_IN != 0 { bits |= MARSHAL_EPOLLIN }
        if what & CURL_POLL_OUT != 0 { bits |= MARSHAL_EPOLLOUT }
        if bits == 0 { forget(socket) } else { register(socket, fd, bits) }
    }

    /// libcurl opened `socket`: whatever this number meant before, it is not in the set now.
    func opened(_ socket: curl_socket_t) {
        guard let fd = slot(socket) else { return }
        sockets[fd] = SocketState()
    }

    func claim(_ socket: Int32, bits: UInt32) {
        guard let fd = slot(socket) else { return }
        sockets[fd].owned = true
        sockets[fd].wanted = false
        register(socket, fd, bits)
    }

    func release(_ socket: Int32) {
        guard let fd = slot(socket) else { return }
        sockets[fd].owned = false
        if sockets[fd].registered != 0 { forget(socket) }
    }

    func keep(_ socket: Int32) {
        guard let fd = slot(socket) else { return }
        sockets[fd].kept = true
    }

    func unkeep(_ socket: Int32) {
        guard let fd = slot(socket) else { return }
        sockets[fd] = SocketState()
    }

    func isKept(_ socket: Int32) -> Bool {
        let fd = Int(socket)
        return fd >= 0 && fd < sockets.count && sockets[fd].kept
    }

    func isOwned(_ socket: Int32) -> Bool {
        let fd = Int(socket)
        return fd >= 0 && fd < sockets.count && sockets[fd].owned
    }

    func isWanted(_ socket: Int32) -> Bool {
        let fd = Int(socket)
        return fd >= 0 && fd < sockets.count && sockets[fd].wanted
    }

    /// Takes a socket libcurl no longer watches out of the set.
    func forget(_ socket: Int32) {
        _ = marshal_epoll_unwatch(epoll, socket)
        let fd = Int(socket)
        if fd >= 0 && fd < sockets.count { sockets[fd].registered = 0 }
    }

    /// Watches `bits` on the socket, with one epoll_ctl only when they change.
    private func register(_ socket: Int32, _ fd: Int, _ bits: UInt32) {
        guard sockets[fd].registered != bits else { return }
        if marshal_epoll_watch(epoll, socket, bits, sockets[fd].registered != 0 ? 1 : 0) == 0 { sockets[fd].registered = bits }
    }

    /// The socket's index in `sockets`, grown to hold it; nil for a bad descriptor.
    private func slot(_ socket: Int32) -> Int? {
        let fd = Int(socket)
        guard fd >= 0 else { return nil }
        if fd >= sockets.count {
            sockets += Array(repeating: SocketState(), count: max(fd + 1, sockets.count * 2, 64) - sockets.count)
        }
        return fd
    }

    /// curl_multi_timer_callback(3): -1 deletes the timer, 0 means "call me now".
    func setTimer(milliseconds: Int) {
        timerDue = milliseconds < 0 ? nil : monotonicNanos() + UInt64(milliseconds) * 1_000_000
    }

    func poll(timeoutNanos: Int64) -> Int {
        let count = readyFDs.withUnsafeMutableBufferPointer { fds in
            readyBits.withUnsafeMutableBufferPointer { bits in
                marshal_epoll_wait_ns(epoll, fds.baseAddress, bits.baseAddress, 64, timeoutNanos)
            }
        }
        return max(0, Int(count))
    }
}
