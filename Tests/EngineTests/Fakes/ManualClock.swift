import Foundation
import MarshalCore

/// Virtual time for engine tests. Time stands still while anything runs. Once the run's work is
/// asleep on this clock and everything else has gone quiet, time jumps to the earliest wake-up of
/// that work. A `within: 10s` check or a 20 s soak therefore takes as long as its work, not as its
/// waits, and wake-ups come in the order of their deadlines, as on a real clock.
///
/// Loops beside the work (`sleepBeside`: the lease heartbeat, the progress tick, the journal's
/// lagging flush) wake when time passes their deadline but never make it pass: otherwise a progress
/// tick would move time on while a step is busy rendering a template.
///
/// "Gone quiet" is judged by yielding: the advancer yields `settle` times and moves time only when
/// no sleep began or ended meanwhile.
final class ManualClock: MarshalCore.Clock, @unchecked Sendable {
    typealias Instant = ContinuousClock.Instant

    private struct Sleeper {
        var deadline: Instant
        var drivesTime: Bool
        var continuation: CheckedContinuation<Void, any Error>
    }

    private let lock = NSLock()
    private let origin = ContinuousClock.now
    /// 2027-01-15 08:00:00 UTC: a fixed wall clock, so journaled dates do not depend on the day.
    private let wallOrigin = Date(timeIntervalSince1970: 1_800_000_000)
    private var offset: Duration = .zero
    private var sleepers: [UInt64: Sleeper] = [:]
    private var cancelled: Set<UInt64> = []
    private var nextID: UInt64 = 0
    private var generation = 0
    private var advancing = false
    private let settle: Int

    init(settle: Int = 300) { self.settle = settle }

    var now: Instant { locked { origin + offset } }
    var date: Date { locked { wallOrigin.addingTimeInterval(offset.seconds) } }

    func sleep(until deadline: Instant) async throws {
        try await suspend(until: deadline, drivesTime: true)
    }

    func sleepBeside(until deadline: Instant) async throws {
        try await suspend(until: deadline, drivesTime: false)
    }

    /// Moves time on by hand and wakes whoever is due.
    func advance(by duration: Duration) {
        let due: [Sleeper] = locked {
            offset += duration
            return takeDue()
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    private func suspend(until deadline: Instant, drivesTime: Bool) async throws {
        if deadline <= now {
            try Task.checkCancellation()
            return
        }
        let id: UInt64 = locked { nextID += 1; return nextID }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let alreadyCancelled: Bool = locked {
                    if cancelled.remove(id) != nil { return true }
                    sleepers[id] = Sleeper(deadline: deadline, drivesTime: drivesTime, continuation: continuation)
                    generation += 1
                    return false
                }
                if alreadyCancelled {
                    continuation.resume(throwing: CancellationError())
                } else if drivesTime {
                    wakeAdvancer()
                }
            }
        } onCancel: {
            let sleeper: Sleeper? = locked {
                if let sleeper = sleepers.removeValue(forKey: id) { generation += 1; return sleeper }
                cancelled.insert(id)
                return nil
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    private func wakeAdvancer() {
        let start: Bool = locked {
            if advancing { return false }
            advancing = true
            return true
        }
        guard start else { return }
        Task.detached { [self] in await runAdvancer() }
    }

    private func runAdvancer() async {
        while true {
            var quiet = 0
            var seen = locked { generation }
            while quiet < settle {
                await Task.yield()
                let current = locked { generation }
                if current == seen { quiet += 1 } else { seen = current; quiet = 0 }
            }
            let due: [Sleeper]? = locked {
                guard let earliest = sleepers.values.filter(\.drivesTime).map(\.deadline).min() else {
                    advancing = false
                    return nil
                }
                offset = max(offset, earliest - origin)
                return takeDue()
            }
            guard let due else { return }
            for sleeper in due { sleeper.continuation.resume() }
        }
    }

    /// Removes and returns the sleepers due at the current time, earliest first; call with the lock held.
    private func takeDue() -> [Sleeper] {
        let current = origin + offset
        let ids = sleepers.filter { $0.value.deadline <= current }.sorted { $0.value.deadline < $1.value.deadline }.map(\.key)
        if !ids.isEmpty { generation += 1 }
        return ids.compactMap { sleepers.removeValue(forKey: $0) }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
