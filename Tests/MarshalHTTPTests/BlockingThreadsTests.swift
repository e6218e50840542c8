import Foundation
import MarshalHTTP
import MarshalCore
import Testing

@Suite("Probe threads are bounded")
struct BlockingThreadsTests {
    /// Counts the jobs running at once; each holds its thread until the test opens the gate.
    final class Tally: @unchecked Sendable {
        let lock = NSLock()
        var active = 0
        var most = 0
        var started = 0
        var done = 0
        let gate = DispatchSemaphore(value: 0)

        func job() {
            lock.withLock { active += 1; started += 1; most = max(most, active) }
            gate.wait()
            lock.withLock { active -= 1; done += 1 }
        }

        func read<T>(_ value: (Tally) -> T) -> T { lock.withLock { value(self) } }

        /// Polls `condition` until it holds or 10 s pass.
        func waitFor(_ condition: (Tally) -> Bool) -> Bool {
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                if read(condition) { return true }
                usleep(1000)
            }
            return read(condition)
        }
    }

    @Test("20 blocking jobs on a pool of 3: three run, the rest wait their turn, all finish, never more than 3 at once")
    func bounded() {
        let threads = BlockingThreads(limit: 3, name: "marshal-test")
        let tally = Tally()
        for _ in 0..<20 { threads.run { tally.job() } }
        #expect(tally.waitFor { $0.active == 3 })
        #expect(tally.read(\.started) == 3, "the other 17 wait for a thread")
        for _ in 0..<20 { tally.gate.signal() }
        #expect(tally.waitFor { $0.done == 20 })
        #expect(tally.read(\.most) == 3)
    }

    @Test("after a burst the threads end; a later job gets a new one")
    func threadsEnd() {
        let threads = BlockingThreads(limit: 2, name: "marshal-test")
        let tally = Tally()
        threads.run { tally.job() }
        tally.gate.signal()
        #expect(tally.waitFor { $0.done == 1 })
        threads.run { tally.job() }
        tally.gate.signal()
        #expect(tally.waitFor { $0.done == 2 })
    }
}

extension HTTPLab.HTTPClientTests {
    @Test("12 requests at once through a client of 3 threads all get their answer")
    func boundedClient() async throws {
        let client = CurlHTTPClient(maxConcurrent: 3)
        let url = lab.appURL + "/delay?ms=100"
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<12 { group.addTask { try await client.send(HTTPRequest(url: url)).status } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 12))
    }
}
