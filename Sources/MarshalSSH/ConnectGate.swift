import Foundation

/// Bounds how many SSH connections are being set up at once in this process. A run connects to
/// every host it will touch before anything runs; 1,000 handshakes at once (each a TCP accept,
/// an sshd fork and a key exchange on both sides) shared two cores so evenly that every one of
/// them passed its connect_timeout. Waiting here does not count against connect_timeout: the
/// clock starts when the connection's own set-up starts. OpenSSH users know the same bound as
/// Ansible's `forks` or pdsh's fan-out.
final class ConnectGate: @unchecked Sendable {
    static let shared = ConnectGate(limit: 32)

    private let lock = NSLock()
    private let limit: Int
    private var inside = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private var head = 0

    init(limit: Int) { self.limit = limit }

    func enter() async {
        await withCheckedContinuation { continuation in
            if admit(continuation) { continuation.resume() }
        }
    }

    /// True when there is room now; otherwise the continuation waits its turn.
    private func admit(_ continuation: CheckedContinuation<Void, Never>) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if inside < limit {
            inside += 1
            return true
        }
        waiting.append(continuation)
        return false
    }

    /// Hands the place to the longest waiter, if any.
    func leave() {
        lock.lock()
        if head < waiting.count {
            let next = waiting[head]
            head += 1
            if head == waiting.count {
                waiting.removeAll(keepingCapacity: true)
                head = 0
            }
            lock.unlock()
            next.resume()
        } else {
            inside -= 1
            lock.unlock()
        }
    }
}
