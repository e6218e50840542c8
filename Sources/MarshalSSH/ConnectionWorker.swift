import Foundation
import MarshalCore

/// The thread that owns one connection. Blocking C work never runs on Swift's cooperative pool
/// (nor on a Dispatch pool, which is only as wide as the core count): each connection gets its
/// own thread, serving a queue of jobs; async callers wait on continuations.
final class ConnectionWorker: @unchecked Sendable {
    typealias Job = (ConnectionWorker) -> Void

    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var stopping = false
    /// Touched only by jobs, which run on the worker thread.
    var connection: Connection?

    init(name: String) {
        let thread = Thread { [self] in serve() }
        thread.name = "marshal-ssh-\(name)"
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func serve() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty && stopping {
                condition.unlock()
                break
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job(self)
        }
        // Freed here so libssh2 teardown happens on the thread that used the session.
        connection = nil
        condition.lock()
        let counted = tearingDown
        tearingDown = false
        condition.unlock()
        if counted { Self.teardowns.leave() }
    }

    /// Workers told to stop whose session is not yet freed. The process must not exit under one:
    /// `exit` runs libcrypto's atexit cleanup, which frees locks a disconnecting session is using
    /// (SIGSEGV in pthread_rwlock_wrlock, seen when a refused run exited while its lock host
    /// connection was being torn down).
    private static let teardowns = DispatchGroup()
    private var tearingDown = false

    /// Lets queued jobs finish, then frees the connection and ends the thread.
    func stop() {
        condition.lock()
        if !stopping {
            stopping = true
            tearingDown = true
            Self.teardowns.enter()
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Waits (bounded) until every stopped worker has freed its session; called before the process exits.
    static func waitForTeardowns(timeout: Duration) -> Bool {
        teardowns.wait(timeout: .now() + timeout.secondsDouble) == .success
    }

    private func submit(_ job: @escaping Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    func perform<T: Sendable>(
        host: String, _ body: @escaping @Sendable (ConnectionWorker) throws(TransportError) -> T
    ) async throws(TransportError) -> T {
        let result: Result<T, TransportError> = await withCheckedContinuation { continuation in
            let accepted = submit { worker in
                do throws(TransportError) {
                    continuation.resume(returning: .success(try body(worker)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if !accepted {
                continuation.resume(returning: .failure(.disconnected(host: host, reason: "the connection was closed")))
            }
        }
        return try result.get()
    }
}
