import Foundation

/// Polls `condition` until it holds or `seconds` pass, with `Task.sleep` between tries (no thread
/// of the cooperative pool is held), and checks it once more at the deadline. What tests use instead
/// of a fixed pause, which a loaded machine outruns.
public func eventually(within seconds: TimeInterval, every interval: Duration = .milliseconds(50),
                       _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}
