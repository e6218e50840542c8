import Foundation

/// Time as the engine sees it: a monotonic instant for durations and deadlines, the wall clock for
/// the journal, and sleeping. Core never reads the real clock itself, so a run's batches, retries,
/// `within:` deadlines and soaks can be tested on a manual clock in milliseconds; the CLI wires
/// the system's (`SystemClock`).
///
/// It shadows the standard library's `Clock` inside Marshal's modules on purpose: the engine needs
/// wall-clock dates beside monotonic instants, which the standard protocol does not give.
public protocol Clock: Sendable {
    /// Monotonic: for durations and deadlines, never for dates shown to people.
    var now: ContinuousClock.Instant { get }
    /// Wall-clock time: for the journal and messages.
    var date: Date { get }
    /// Returns at `deadline` (at once when it has passed); throws `CancellationError` when the
    /// task is cancelled first.
    func sleep(until deadline: ContinuousClock.Instant) async throws
    /// The same, for loops that run beside the work and wait for time to pass without waiting on
    /// it themselves (the lease heartbeat, the progress tick, the journal's lagging flush). On a
    /// manual clock they never make time move; the work's own waits do.
    func sleepBeside(until deadline: ContinuousClock.Instant) async throws
}

extension Clock {
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: now + duration)
    }

    public func sleepBeside(until deadline: ContinuousClock.Instant) async throws {
        try await sleep(until: deadline)
    }

    public func sleepBeside(for duration: Duration) async throws {
        try await sleepBeside(until: now + duration)
    }

    /// Time since `start` on this clock.
    public func elapsed(since start: ContinuousClock.Instant) -> Duration {
        now - start
    }
}
