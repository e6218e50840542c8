import Foundation
import MarshalCore

/// The machine's clocks: the monotonic clock for deadlines and sleeps, the wall clock for dates.
struct SystemClock: MarshalCore.Clock {
    var now: ContinuousClock.Instant { ContinuousClock.now }
    var date: Date { Date() }

    func sleep(until deadline: ContinuousClock.Instant) async throws {
        try await Task.sleep(until: deadline, clock: .continuous)
    }
}
