internal import CCurl
import Foundation

/// One multi handle: drives many easy handles from a single thread. Easy handles must be removed
/// before this object goes away (the load worker does so when it finishes).
final class MultiHandle {
    let raw: UnsafeMutableRawPointer

    /// `connections` caps open connections and keeps that many idle ones cached for reuse.
    init(connections: Int) throws(CurlFailure) {
        guard CurlRuntime.ensureInitialized() else { throw CurlFailure(code: -1, message: "curl_global_init failed") }
        guard let handle = curl_multi_init() else {
            throw CurlFailure(code: -1, message: "curl_multi_init returned no handle (out of memory?)")
        }
        raw = handle
        try set(CURLMOPT_MAX_HOST_CONNECTIONS, connections)
        try set(CURLMOPT_MAX_TOTAL_CONNECTIONS, connections)
        try set(CURLMOPT_MAXCONNECTS, connections)
    }

    deinit {
        curl_multi_cleanup(raw)
    }

    private func set(_ option: CURLMoption, _ value: Int) throws(CurlFailure) {
        let code = marshal_multi_setopt_long(raw, option, value)
        guard code == CURLM_OK else {
            throw CurlFailure(code: Int(code.rawValue), message: "libcurl refused multi option \(option.rawValue): \(String(cString: curl_multi_strerror(code)))")
        }
    }

    func add(_ easy: EasyHandle) -> Bool {
        curl_multi_add_handle(raw, easy.raw) == CURLM_OK
    }

    func remove(_ easy: EasyHandle) {
        _ = curl_multi_remove_handle(raw, easy.raw)
    }

    /// Moves every transfer as far as it can go without blocking.
    func perform() {
        var running: Int32 = 0
        _ = curl_multi_perform(raw, &running)
    }

    /// Waits for socket activity, libcurl's own timers, or `milliseconds`, whichever comes first.
    func poll(milliseconds: Int) {
        _ = curl_multi_poll(raw, nil, 0, Int32(clamping: milliseconds), nil)
    }

    /// Also wakes when `timer` fires; returns whether it did.
    func poll(milliseconds: Int, timer: SendTimer) -> Bool {
        var wait = curl_waitfd(fd: timer.fd, events: Int16(CURL_WAIT_POLLIN), revents: 0)
        _ = curl_multi_poll(raw, &wait, 1, Int32(clamping: milliseconds), nil)
        return wait.revents != 0
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

/// A timerfd armed at the next planned send, so polls wake on time to the microsecond.
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
