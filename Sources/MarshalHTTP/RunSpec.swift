import Foundation
import MarshalCore

/// Everything a worker thread needs, shared read-only by all of them; each worker runs on its
/// own copy of `settings`.
final class RunSpec: Sendable {
    struct Target: Sendable {
        let url: String
        let method: String
        let headers: [(name: String, value: String)]
        let body: [UInt8]
        let expectStatus: Set<Int>?
    }

    let settings: WorkerSpec
    let stop: StopSignal
    let watch: AbortWatch?
    let progress: ProgressBoard?

    init(plan: LoadPlan, schedule: ArrivalSchedule?, startNanos: UInt64, stop: StopSignal, watch: AbortWatch? = nil,
         progress: ProgressBoard? = nil) {
        settings = WorkerSpec(plan: plan, schedule: schedule, startNanos: startNanos)
        self.stop = stop
        self.watch = watch
        self.progress = progress
    }

    /// `base` + `path` with exactly one slash between them; an empty path leaves the base untouched.
    static func join(_ base: String, _ path: String) -> String {
        guard !path.isEmpty else { return base }
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        return trimmed + (path.hasPrefix("/") ? path : "/" + path)
    }
}

/// The run's settings. Each worker takes a deep copy (`copied()`), not the shared one: reading a
/// shared object or buffer from two threads at every request makes its reference count bounce
/// between cores.
struct WorkerSpec: Sendable {
    private(set) var targets: [RunSpec.Target]
    private(set) var weights: [Int]
    private(set) var schedule: ArrivalSchedule?
    let startNanos: UInt64
    let endNanos: UInt64
    /// After this instant anything still unfinished is abandoned.
    let hardDeadlineNanos: UInt64
    let timeout: Duration
    let connectTimeout: Duration
    let insecure: Bool
    let highestTrackableMicros: UInt64
    let seconds: Int

    init(plan: LoadPlan, schedule: ArrivalSchedule?, startNanos: UInt64) {
        targets = plan.scenarios.map { s in
            RunSpec.Target(url: RunSpec.join(plan.baseURL, s.path), method: s.method, headers: s.headers, body: s.body,
                           expectStatus: s.expectStatus.map(Set.init))
        }
        weights = plan.scenarios.map(\.weight)
        self.schedule = schedule
        self.startNanos = startNanos
        let planned = UInt64(plan.duration.secondsDouble * 1e9)
        endNanos = startNanos + planned
        let grace = UInt64((plan.timeout.secondsDouble + 1) * 1e9)
        hardDeadlineNanos = endNanos + grace
        timeout = plan.timeout
        connectTimeout = min(plan.connectTimeout ?? plan.timeout, plan.timeout)
        insecure = plan.insecure
        highestTrackableMicros = max(60_000_000, (planned + grace) / 1000 * 2)
        seconds = Int((planned + grace) / 1_000_000_000) + 2
    }

    /// A copy whose arrays and schedule share no buffer with this one (the rest are plain values).
    func copied() -> WorkerSpec {
        var copy = self
        copy.targets = targets.map {
            RunSpec.Target(url: $0.url, method: $0.method, headers: $0.headers, body: $0.body, expectStatus: $0.expectStatus.map { Set($0.map { $0 }) })
        }
        copy.weights = weights.map { $0 }
        copy.schedule = schedule?.copy()
        return copy
    }
}

/// Set from another thread (task cancellation); workers look at it at least every 50 ms.
final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false

    func stop() { lock.withLock { stopped = true } }
    var isStopped: Bool { lock.withLock { stopped } }
}

/// CLOCK_MONOTONIC, the clock the send timer (timerfd) is armed on.
func monotonicNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// CLOCK_REALTIME in nanoseconds: the clock of the kernel's receive stamps (SO_TIMESTAMPNS).
func realtimeNanos() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}
