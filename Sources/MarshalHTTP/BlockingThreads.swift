import Foundation

/// At most `limit` threads for blocking calls (`curl_easy_perform`), which must never occupy
/// Swift's cooperative pool. Work beyond the limit waits in line for a thread to come free; a
/// thread that finds the line empty ends, so nothing is left parked when probes stop.
package final class BlockingThreads: @unchecked Sendable {
    package let limit: Int
    private let name: String
    private let lock = NSLock()
    private var waiting: [@Sendable () -> Void] = []
    private var next = 0
    private var running = 0

    package init(limit: Int, name: String) {
        precondition(limit > 0, "a pool needs a thread")
        self.limit = limit
        self.name = name
    }

    /// Runs `work` on one of the threads, now or when one comes free.
    package func run(_ work: @escaping @Sendable () -> Void) {
        let start: Bool = lock.withLock {
            waiting.append(work)
            guard running < limit else { return false }
            running += 1
            return true
        }
        guard start else { return }
        let thread = Thread { [self] in drain() }
        thread.name = name
        thread.start()
    }

    private func drain() {
        while let work = take() { work() }
    }

    private func take() -> (@Sendable () -> Void)? {
        lock.withLock {
            guard next < waiting.count else {
                waiting.removeAll(keepingCapacity: true)
                next = 0
                running -= 1
                return nil
            }
            let work = waiting[next]
            next += 1
            // Drop what was taken now and then, so the line does not grow without bound.
            if next > 64 && next * 2 > waiting.count {
                waiting.removeFirst(next)
                next = 0
            }
            return work
        }
    }
}
