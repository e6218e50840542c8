/// At most `limit` bodies at a time; the others wait as suspended tasks, holding no thread.
///
/// Lab starts go through one: each starts several servers (sshd, PostgreSQL, Redis, supervisord), and
/// when lab starts stopped blocking the cooperative pool, a dozen ran at once on 2 cores and the
/// timing tests beside them paid for it.
public actor AsyncLimiter {
    private var available: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(_ limit: Int) { available = limit }

    nonisolated public func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        do {
            let value = try await body()
            await release()
            return value
        } catch {
            await release()
            throw error
        }
    }

    private func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty { available += 1 } else { waiting.removeFirst().resume() }
    }
}
