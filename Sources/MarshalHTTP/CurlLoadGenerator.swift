import Foundation
import Histogram
import MarshalCore

/// Load generator on libcurl's multi interface: `plan.threads` threads, each with its own multi
/// handle, driving a share of the connections (closed loop) or of the planned arrivals (open loop).
public struct CurlLoadGenerator: LoadGenerator {
    public init() {}

    public func run(_ plan: LoadPlan) async throws(LoadError) -> LoadResult {
        try await run(plan, progress: nil)
    }

    public func run(_ plan: LoadPlan, progress: (@Sendable (LoadProgress) -> Void)?) async throws(LoadError) -> LoadResult {
        let problems = plan.problems()
        guard problems.isEmpty else { throw .invalidPlan(problems) }
        let stop = StopSignal()
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<LoadResult, LoadError>, Never>) in
                Self.start(plan, stop: stop, progress: progress) { continuation.resume(returning: $0) }
            }
        } onCancel: {
            stop.stop()
        }
        return try outcome.get()
    }

    /// Splits `total` into `parts` near-equal shares.
    static func split(_ total: Int, into parts: Int) -> [Int] {
        (0..<parts).map { total / parts + ($0 < total % parts ? 1 : 0) }
    }

    private static func start(_ plan: LoadPlan, stop: StopSignal, progress: (@Sendable (LoadProgress) -> Void)?,
                              done: @escaping @Sendable (Result<LoadResult, LoadError>) -> Void) {
        let schedule: ArrivalSchedule?
        let threadCount: Int
        let pools: [Int]
        let inFlight: [Int]
        switch plan.mode {
        case .openLoop(let phases):
            let s = ArrivalSchedule(phases)
            schedule = s
            let connections = min(plan.connections ?? plan.maxInFlight, plan.maxInFlight)
            threadCount = max(1, min(plan.threads, connections))
            pools = split(connections, into: threadCount)
            inFlight = split(plan.maxInFlight, into: threadCount)
        case .closedLoop(let connections, _):
            schedule = nil
            threadCount = max(1, min(plan.threads, connections))
            pools = split(connections, into: threadCount)
            inFlight = pools
        case .users(let users):
            // One keep-alive connection per user, as a browser (or a k6 VU) holds its own.
            schedule = nil
            threadCount = max(1, min(plan.threads, users.count))
            pools = split(users.count, into: threadCount)
            inFlight = pools
        }
        FileLimit.raise(toHold: pools.reduce(0, +) + 64)
        // A common time origin a little ahead, so every thread is ready before the first send; an
        // open loop's workers also open their first connections in that time (LoadWorker.warm).
        let watch = schedule.flatMap { AbortWatch(rules: plan.abortRules, plannedRequests: $0.phases.reduce(0) { $0 + $1.count }) }
        let startNanos = monotonicNanos() + (schedule == nil ? 20_000_000 : 100_000_000)
        let board = progress.map { ProgressBoard(startNanos: startNanos, report: $0) }
        let spec = RunSpec(plan: plan, schedule: schedule, startNanos: startNanos, stop: stop, watch: watch, progress: board)
        let collector = Collector(expected: threadCount) { tallies in
            var result = summarize(plan: plan, spec: spec, tallies: tallies, stoppedEarly: stop.isStopped)
            if let reason = watch?.reason, case .success(var value) = result {
                value.aborted = reason
                result = .success(value)
            }
            done(result)
        }
        for w in 0..<threadCount {
            let thread = Thread {
                var tally: WorkerTally
                do throws(CurlFailure) {
                    let worker = try LoadWorker(spec: spec, poolLimit: pools[w], inFlightLimit: inFlight[w], pickerOffset: w)
                    if let schedule {
                        tally = try worker.runOpenLoop(cursor: ArrivalSchedule.Cursor(schedule: schedule, start: w, stride: threadCount))
                    } else if case .users(let users) = plan.mode {
                        tally = try worker.runUsers(users, users: Array(Swift.stride(from: w, to: users.count, by: threadCount)), total: users.count)
                    } else {
                        tally = try worker.runClosedLoop(connections: pools[w])
                    }
                } catch {
                    tally = WorkerTally(scenarios: spec.settings.targets.count, phases: schedule?.phases.count ?? 0,
                                        seconds: spec.settings.seconds, highestTrackableMicros: spec.settings.highestTrackableMicros)
                    tally.failure = error.message
                    stop.stop()
                }
                collector.deliver(tally)
            }
            thread.name = "marshal-load-\(w)"
            thread.start()
        }
    }

    private static func summarize(plan: LoadPlan, spec: RunSpec, tallies: [WorkerTally], stoppedEarly: Bool) -> Result<LoadResult, LoadError> {
        guard var all = tallies.first else { return .failure(.couldNotStart("no worker ran")) }
        for t in tallies.dropFirst() { all.merge(t) }
        if let failure = all.failure { return .failure(.couldNotStart(failure)) }
        // A run stopped early (abort rule, Ctrl-C) lasted until it stopped, not until its planned end.
        let end = stoppedEarly ? max(all.lastEventNanos, spec.settings.startNanos + 1) : max(all.lastEventNanos, spec.settings.endNanos)
        let duration = Double(end - spec.settings.startNanos) / 1e9
        // A closed loop's req/s is what the server kept up while every connection was busy: the
        // answers that came within the duration, over the duration, as wrk counts. The requests
        // still in flight at its end are awaited and counted (requests, latency), but their tail
        // is no throughput: at 10,000 connections it lasted 2.5 s after a 2 s run (connections
        // whose SYN a full accept queue dropped, answered last), and halved the rate.
        var window: Double?
        if case .closedLoop = plan.mode, !stoppedEarly { window = Double(spec.settings.endNanos - spec.settings.startNanos) / 1e9 }
        let scenarios = plan.scenarios.indices.map { i in
            stats(name: plan.scenarios[i].name, count: all.scenarioCount[i], errors: all.scenarioErrors[i], dropped: all.scenarioDropped[i],
                  duration: duration, latency: all.scenarioLatency[i], service: all.scenarioService[i],
                  inWindow: window.map { (all.scenarioAnsweredInWindow[i], $0) })
        }
        let overall = stats(
            name: "overall", count: all.scenarioCount.reduce(0, +), errors: all.scenarioErrors.reduce(ErrorCounts(), +),
            dropped: all.scenarioDropped.reduce(0, +), duration: duration, latency: all.latency, service: all.service,
            inWindow: window.map { (all.scenarioAnsweredInWindow.reduce(0, +), $0) })
        var phases: [PhaseStats] = []
        if let schedule = spec.settings.schedule, case .openLoop(let planned) = plan.mode {
            for (i, shape) in schedule.phases.enumerated() {
                let seconds = Double(shape.durationNanos) / 1e9
                phases.append(PhaseStats(index: i, name: planned[i].name, duration: seconds, plannedRate: planned[i].rate, plannedRampTo: planned[i].rampTo,
                                         planned: shape.count, sent: all.phaseSent[i], dropped: all.phaseDropped[i],
                                         achievedRate: Double(all.phaseSent[i]) / seconds))
            }
        }
        let usedSeconds = min(all.perSecond.count, Int(duration.rounded(.up)))
        var result = LoadResult(
            mode: spec.settings.schedule == nil ? "closed" : "open", duration: duration, overall: overall, scenarios: scenarios,
            phases: phases, perSecond: Array(all.perSecond.prefix(max(usedSeconds, 1))))
        result.errorSamples = all.errorSamples.isEmpty ? nil : all.errorSamples
        if case .users(let users) = plan.mode {
            result.mode = "users"
            result.users = userStats(users, tally: all, meanService: overall.serviceTime.mean)
        }
        return .success(result)
    }

    /// The plan's rate: user u starts at u·rampUp/N and sends again every thinkTime + service time,
    /// so it sends ⌈(D − start) / period⌉ requests inside the duration D.
    static func userStats(_ users: LoadPlan.Users, tally: WorkerTally, meanService: Double) -> UserStats {
        let d = users.duration.secondsDouble
        let ramp = users.rampUp.secondsDouble
        let period = users.thinkTime.secondsDouble + meanService
        var planned = 0.0
        for u in 0..<users.count {
            let left = d - ramp * Double(u) / Double(users.count)
            guard left > 0 else { continue }
            planned += period > 0 ? (left / period).rounded(.up) : 0
        }
        let sent = tally.perSecond.reduce(0) { $0 + $1.sent }
        return UserStats(planned: users.count, started: tally.usersStarted, served: tally.usersServed, thinkTime: users.thinkTime.secondsDouble,
                         rampUp: ramp, plannedRate: planned / d, achievedRate: Double(sent) / d,
                         meanLateness: tally.lateCount > 0 ? Double(tally.lateNanosTotal) / Double(tally.lateCount) / 1e9 : 0,
                         maxLateness: Double(tally.lateNanosMax) / 1e9)
    }

    /// `inWindow`: answers within the run's duration and that duration, when req/s counts only
    /// those (a closed loop run to its end).
    private static func stats(name: String, count: Int, errors: ErrorCounts, dropped: Int, duration: Double,
                              latency: Histogram<UInt64>, service: Histogram<UInt64>, inWindow: (answered: Int, seconds: Double)? = nil) -> LoadStats {
        // Answered requests (any HTTP status) per second, as wrk counts them: refused connections
        // and timeouts can fail as fast as a loop can spin, and must not read as throughput.
        let answered = count - errors.connect - errors.timeout - errors.other
        let rps: Double
        if let inWindow {
            rps = inWindow.seconds > 0 ? Double(inWindow.answered) / inWindow.seconds : 0
        } else {
            rps = duration > 0 ? Double(answered) / duration : 0
        }
        return LoadStats(name: name, count: count, errors: errors, dropped: dropped, rps: rps,
                         duration: duration, latency: summary(latency), serviceTime: summary(service),
                         latencyHistogram: buckets(latency), serviceTimeHistogram: buckets(service))
    }

    /// The histogram kept as evidence: its non-empty buckets.
    static func buckets(_ h: Histogram<UInt64>) -> LatencyHistogram {
        LatencyHistogram(buckets: h.recordedValues().map { [$0.value, UInt64($0.count)] })
    }

    static func summary(_ h: Histogram<UInt64>) -> LatencySummary {
        guard h.totalCount > 0 else { return .empty }
        func s(_ micros: UInt64) -> Double { Double(micros) / 1e6 }
        return LatencySummary(
            count: Int(h.totalCount), min: s(h.min), mean: h.mean / 1e6, stdDev: h.stdDeviation / 1e6,
            p50: s(h.valueAtPercentile(50)), p75: s(h.valueAtPercentile(75)), p90: s(h.valueAtPercentile(90)),
            p95: s(h.valueAtPercentile(95)), p99: s(h.valueAtPercentile(99)), p999: s(h.valueAtPercentile(99.9)), max: s(h.max))
    }
}

/// Gathers the workers' tallies; the last one in hands all of them on.
final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private let expected: Int
    private var tallies: [WorkerTally] = []
    private let done: @Sendable ([WorkerTally]) -> Void

    init(expected: Int, done: @escaping @Sendable ([WorkerTally]) -> Void) {
        self.expected = expected
        self.done = done
    }

    func deliver(_ tally: WorkerTally) {
        let complete: [WorkerTally]? = lock.withLock {
            tallies.append(tally)
            return tallies.count == expected ? tallies : nil
        }
        if let complete { done(complete) }
    }
}

/// The open-files limit, raised for a run that holds many connections.
enum FileLimit {
    /// Raises the soft RLIMIT_NOFILE to `count` (at most the hard limit) when it is lower: 1,000
    /// users or 10,000 connections need as many sockets, and a shell's default soft limit (often
    /// 1,024) would fail them with "too many open files" while the hard limit allows them, as
    /// nginx's worker_rlimit_nofile does.
    static func raise(toHold count: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(count) else { return }
        limit.rlim_cur = min(rlim_t(count), limit.rlim_max)
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
