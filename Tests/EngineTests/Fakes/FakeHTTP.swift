import Foundation
import MarshalCore

/// An HTTP server in a closure: the test says what each URL answers on its n-th request (from 1).
final class FakeHTTP: HTTPClient, @unchecked Sendable {
    typealias Handler = @Sendable (_ url: String, _ attempt: Int) -> (status: Int, body: String)

    private let lock = NSLock()
    private var handler: Handler = { _, _ in (200, "{}") }
    private var counts: [String: Int] = [:]

    func answer(_ handler: @escaping Handler) { lock.withLock { self.handler = handler } }

    /// How many requests a URL has had.
    func requests(to url: String) -> Int { lock.withLock { counts[url] ?? 0 } }

    func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        let (handler, attempt): (Handler, Int) = lock.withLock {
            counts[request.url, default: 0] += 1
            return (self.handler, counts[request.url]!)
        }
        let answer = handler(request.url, attempt)
        return HTTPResponse(status: answer.status, headers: [("Content-Type", "application/json")], body: Array(answer.body.utf8),
                            timings: HTTPTimings(total: .milliseconds(5), connect: .milliseconds(1), ttfb: .milliseconds(4)))
    }
}

/// Engine tests run no load: a benchmark step fails, saying so.
struct NoLoadGenerator: LoadGenerator {
    func run(_ plan: LoadPlan) async throws(LoadError) -> LoadResult {
        throw .invalidPlan(["engine tests have no load generator"])
    }

    func run(_ plan: LoadPlan, progress: (@Sendable (LoadProgress) -> Void)?) async throws(LoadError) -> LoadResult {
        try await run(plan)
    }
}

/// Files present on the fake controller machine.
struct FakeFiles: LocalFiles {
    var paths: Set<String> = []
    func isReadableFile(atPath path: String) -> Bool { paths.contains(path) }
}

/// Keeps every event of a run.
final class EventLog: RunObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [RunEvent] = []

    func handle(_ event: RunEvent) { lock.withLock { kept.append(event) } }

    var events: [RunEvent] { lock.withLock { kept } }

    /// The hosts of each batch, as the run announced them.
    var batches: [[String]] {
        events.compactMap { if case .batchStarted(_, _, let hosts) = $0 { hosts } else { nil } }
    }
}
