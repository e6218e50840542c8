internal import CCurl
import Foundation
import Histogram
import MarshalCore

/// Everything a worker thread needs, shared read-only by all of them.
final class RunSpec: Sendable {
    struct Target: Sendable {
        let url: String
        let method: String
        let headers: [(name: String, value: String)]
        let body: [UInt8]
        let expectStatus: Set<Int>?
    }

    let targets: [Target]
    let weights: [Int]
    let schedule: ArrivalSchedule?
    let startNanos: UInt64
    let endNanos: UInt64
    /// After this instant anything still unfinished is abandoned.
    let hardDeadlineNanos: UInt64
    let timeout: Duration
    let connectTimeout: Duration
    let insecure: Bool
    let highestTrackableMicros: UInt64
    let seconds: Int
    let stop: StopSignal
    let watch: AbortWatch?

    init(plan: LoadPlan, schedule: ArrivalSchedule?, startNanos: UInt64, stop: StopSignal, watch: AbortWatch? = nil) {
        self.watch = watch
        targets = plan.scenarios.map { s in
            Target(url: Self.join(plan.baseURL, s.path), method: s.method, headers: s.headers, body: s.body, expectStatus: s.expectStatus.map(Set.init))
        }
        weights = plan.scenarios.map(\.weight)
        self.schedule = schedule
        self.startNanos = startNanos
        let planned = UInt64(plan.duration.secondsDouble * 1e9)
        endNanos = startNanos + planned
        let grace = UInt64((plan.timeout.secondsDouble + 1) * 1e9)
        hardDeadlineNanos = endNanos + grace
        timeout = plan.timeout
        connectTimeout = plan.connectTimeout
        insecure = plan.insecure
        highestTrackableMicros = max(60_000_000, (planned + grace) / 1000 * 2)
        seconds = Int((planned + grace) / 1_000_000_000) + 2
        self.stop = stop
    }

    /// `base` + `path` with exactly one slash between them; an empty path leaves the base untouched.
    static func join(_ base: String, _ path: String) -> String {
        guard !path.isEmpty else { return base }
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        return trimmed + (path.hasPrefix("/") ? path : "/" + path)
    }
}

/// A worker's private copy of the run's settings. Copied, not shared: reading a shared object or
/// buffer from two threads at every request makes its reference count bounce between cores.
struct WorkerSpec {
    let targets: [RunSpec.Target]
    let weights: [Int]
    let schedule: ArrivalSchedule?
    let startNanos: UInt64
    let endNanos: UInt64
    let hardDeadlineNanos: UInt64
    let timeout: Duration
    let connectTimeout: Duration
    let insecure: Bool
    let highestTrackableMicros: UInt64
    let seconds: Int

    init(_ shared: RunSpec) {
        targets = shared.targets.map {
            RunSpec.Target(url: $0.url, method: $0.method, headers: $0.headers, body: $0.body, expectStatus: $0.expectStatus.map { Set($0.map { $0 }) })
        }
        weights = shared.weights.map { $0 }
        schedule = shared.schedule?.copy()
        startNanos = shared.startNanos
        endNanos = shared.endNanos
        hardDeadlineNanos = shared.hardDeadlineNanos
        timeout = shared.timeout
        connectTimeout = shared.connectTimeout
        insecure = shared.insecure
        highestTrackableMicros = shared.highestTrackableMicros
        seconds = shared.seconds
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

/// What one worker measured; merged with the others' at the end.
struct WorkerTally: Sendable {
    var latency: Histogram<UInt64>
    var service: Histogram<UInt64>
    var scenarioLatency: [Histogram<UInt64>]
    var scenarioService: [Histogram<UInt64>]
    var scenarioCount: [Int]
    var scenarioErrors: [ErrorCounts]
    var scenarioDropped: [Int]
    var phaseSent: [Int]
    var phaseDropped: [Int]
    var perSecond: [SecondStats]
    var lastEventNanos: UInt64
    var failure: String?

    init(scenarios: Int, phases: Int, seconds: Int, highestTrackableMicros: UInt64) {
        let empty = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestTrackableMicros, numberOfSignificantValueDigits: .three)
        latency = empty
        service = empty
        scenarioLatency = Array(repeating: empty, count: scenarios)
        scenarioService = Array(repeating: empty, count: scenarios)
        scenarioCount = Array(repeating: 0, count: scenarios)
        scenarioErrors = Array(repeating: ErrorCounts(), count: scenarios)
        scenarioDropped = Array(repeating: 0, count: scenarios)
        phaseSent = Array(repeating: 0, count: phases)
        phaseDropped = Array(repeating: 0, count: phases)
        perSecond = (0..<seconds).map { SecondStats(second: $0, sent: 0, completed: 0, errors: 0, dropped: 0, maxLatency: 0) }
        lastEventNanos = 0
    }

    mutating func merge(_ other: WorkerTally) {
        latency.add(other.latency)
        service.add(other.service)
        for i in scenarioLatency.indices {
            scenarioLatency[i].add(other.scenarioLatency[i])
            scenarioService[i].add(other.scenarioService[i])
            scenarioCount[i] += other.scenarioCount[i]
            scenarioErrors[i] = scenarioErrors[i] + other.scenarioErrors[i]
            scenarioDropped[i] += other.scenarioDropped[i]
        }
        for i in phaseSent.indices {
            phaseSent[i] += other.phaseSent[i]
            phaseDropped[i] += other.phaseDropped[i]
        }
        for i in perSecond.indices {
            perSecond[i].sent += other.perSecond[i].sent
            perSecond[i].completed += other.perSecond[i].completed
            perSecond[i].errors += other.perSecond[i].errors
            perSecond[i].dropped += other.perSecond[i].dropped
            perSecond[i].maxLatency = max(perSecond[i].maxLatency, other.perSecond[i].maxLatency)
        }
        lastEventNanos = max(lastEventNanos, other.lastEventNanos)
        failure = failure ?? other.failure
    }
}

/// One easy handle and the request it carries. Its index travels through CURLOPT_PRIVATE.
final class Slot {
    let index: Int
    let easy: EasyHandle
    var configuredScenario = -1
    var scenario = 0
    var intendedNanos: UInt64 = 0
    var startNanos: UInt64 = 0

    init(index: Int, easy: EasyHandle) {
        self.index = index
        self.easy = easy
    }
}

/// A request accepted by the open-loop schedule that waits for a free connection.
struct Pending {
    let intendedNanos: UInt64
    let scenario: Int
}

/// Drives one share of the load on the thread that created it; nothing here is shared.
final class LoadWorker {
    private let spec: WorkerSpec
    private let stop: StopSignal
    private let watch: AbortWatch?
    private var stopped = false
    private var nextStopCheck: UInt64 = 0
    private let multi: MultiHandle
    private let timer: SendTimer
    private let poolLimit: Int
    private let inFlightLimit: Int
    private var slots: [Slot] = []
    private var free: [Slot] = []
    private var waiting: [Pending] = []
    private var waitingHead = 0
    private var active = 0
    private var tally: WorkerTally
    private var picker: ScenarioPicker

    /// `poolLimit` connections (easy handles); `inFlightLimit` counts active plus waiting requests.
    init(spec: RunSpec, poolLimit: Int, inFlightLimit: Int, pickerOffset: Int) throws(CurlFailure) {
        self.spec = WorkerSpec(spec)
        stop = spec.stop
        watch = spec.watch
        self.poolLimit = poolLimit
        self.inFlightLimit = inFlightLimit
        multi = try MultiHandle(connections: poolLimit)
        timer = try SendTimer()
        tally = WorkerTally(scenarios: spec.targets.count, phases: spec.schedule?.phases.count ?? 0,
                            seconds: spec.seconds, highestTrackableMicros: spec.highestTrackableMicros)
        picker = ScenarioPicker(weights: spec.weights, offset: pickerOffset)
    }

    // MARK: open loop

    func runOpenLoop(cursor start: ArrivalSchedule.Cursor) throws(CurlFailure) -> WorkerTally {
        var cursor = start
        defer { finish() }
        while true {
            let now = monotonicNanos()
            if now >= spec.hardDeadlineNanos || isStopped(now) {
                abandon(cursor: &cursor, now: now)
                break
            }
            while !cursor.isExhausted {
                let (phase, offset) = cursor.current
                let intended = spec.startNanos + offset
                guard intended <= now else { break }
                let scenario = picker.pick()
                if active + (waiting.count - waitingHead) >= inFlightLimit {
                    countDropped(scenario: scenario, phase: phase, at: intended)
                } else {
                    waiting.append(Pending(intendedNanos: intended, scenario: scenario))
                }
                cursor.advance()
            }
            try startWaiting(now: now)
            try drainFinished(restart: false)
            try startWaiting(now: monotonicNanos())
            if cursor.isExhausted && active == 0 && waitingHead == waiting.count { break }
            if cursor.isExhausted {
                multi.wait(milliseconds: 50, timer: nil)
            } else {
                let due = spec.startNanos + cursor.current.offsetNanos
                // The timer ends the wait at the planned send; the millisecond timeout is only a backstop.
                timer.arm(atMonotonicNanos: due)
                multi.wait(milliseconds: due > monotonicNanos() ? 50 : 0, timer: timer)
            }
        }
        return tally
    }

    private func startWaiting(now: UInt64) throws(CurlFailure) {
        while waitingHead < waiting.count {
            guard let slot = try takeSlot() else { return }
            let pending = waiting[waitingHead]
            waitingHead += 1
            try start(slot, scenario: pending.scenario, intended: pending.intendedNanos)
        }
        if waitingHead > 1024 && waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
    }

    // MARK: closed loop

    func runClosedLoop(connections: Int) throws(CurlFailure) -> WorkerTally {
        defer { finish() }
        let now = monotonicNanos()
        if spec.startNanos > now { usleep(UInt32((spec.startNanos - now) / 1000)) }
        for _ in 0..<connections {
            guard let slot = try takeSlot() else { break }
            try start(slot, scenario: picker.pick(), intended: nil)
        }
        while active > 0 {
            let now = monotonicNanos()
            if now >= spec.hardDeadlineNanos || isStopped(now) {
                var idle = ArrivalSchedule.Cursor?.none
                abandon(cursor: &idle, now: now)
                break
            }
            multi.wait(milliseconds: 50, timer: nil)
            try drainFinished(restart: true)
        }
        return tally
    }

    // MARK: transfers

    private func takeSlot() throws(CurlFailure) -> Slot? {
        if let slot = free.popLast() { return slot }
        guard slots.count < poolLimit else { return nil }
        let easy = try EasyHandle()
        let slot = Slot(index: slots.count, easy: easy)
        try easy.set(CURLOPT_PRIVATE, pointer: UnsafeMutableRawPointer(bitPattern: slot.index + 1))
        // The body is measured, not kept: count it and drop it.
        try easy.setFunction(CURLOPT_WRITEFUNCTION, { _, size, count, _ in size * count })
        try easy.setTimeouts(total: spec.timeout, connect: spec.connectTimeout)
        try easy.setInsecure(spec.insecure)
        // HTTP/1.1 keep-alive, one request per connection at a time, as wrk does.
        try easy.set(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
        // Load goes straight to the target: a proxy from the environment would be measured instead
        // (and libcurl would read the proxy variables again for every request).
        try easy.set(CURLOPT_PROXY, "")
        slots.append(slot)
        return slot
    }

    /// `intended` nil (closed loop): the request is due the moment it is sent.
    private func start(_ slot: Slot, scenario: Int, intended: UInt64?) throws(CurlFailure) {
        if slot.configuredScenario != scenario {
            let target = spec.targets[scenario]
            try slot.easy.set(CURLOPT_URL, target.url)
            try slot.easy.setMethod(target.method, body: target.body)
            try slot.easy.setHeaders(target.headers, hasBody: !target.body.isEmpty)
            slot.configuredScenario = scenario
        }
        slot.scenario = scenario
        let now = monotonicNanos()
        slot.intendedNanos = intended ?? now
        slot.startNanos = now
        guard multi.add(slot.easy) else {
            throw CurlFailure(code: -1, message: "curl_multi_add_handle failed")
        }
        active += 1
        let offset = now >= spec.startNanos ? now - spec.startNanos : 0
        tally.perSecond[second(offset)].sent += 1
        if let schedule = spec.schedule, let phase = schedule.phase(atNanos: offset) {
            tally.phaseSent[phase] += 1
        }
    }

    /// Records every finished transfer; in closed loop starts the connection's next request.
    /// Returns whether anything finished.
    @discardableResult
    private func drainFinished(restart: Bool) throws(CurlFailure) -> Bool {
        var any = false
        while let (easy, code) = multi.nextFinished() {
            any = true
            var raw: UnsafeMutablePointer<CChar>?
            _ = marshal_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &raw)
            let index = Int(bitPattern: raw) - 1
            guard slots.indices.contains(index) else { continue }
            let slot = slots[index]
            multi.remove(slot.easy)
            active -= 1
            record(slot, code: code, now: monotonicNanos())
            if restart && monotonicNanos() < spec.endNanos && !stopped {
                try start(slot, scenario: picker.pick(), intended: nil)
            } else {
                free.append(slot)
            }
        }
        return any
    }

    private func record(_ slot: Slot, code: CURLcode, now: UInt64) {
        // The request loop stays as it was unless abort rules were asked for.
        guard let watch else { return recordTally(slot, code: code, now: now) }
        let bucket = second(now >= spec.startNanos ? now - spec.startNanos : 0)
        let errorsBefore = tally.perSecond[bucket].errors
        recordTally(slot, code: code, now: now)
        let failed = tally.perSecond[bucket].errors > errorsBefore
        let latency = Double(micros(now, since: slot.intendedNanos)) / 1e6
        let elapsed = Double(now >= spec.startNanos ? now - spec.startNanos : 0) / 1e9
        if watch.observe(error: failed, latency: latency, elapsed: elapsed) { stop.stop() }
    }

    private func recordTally(_ slot: Slot, code: CURLcode, now: UInt64) {
        let s = slot.scenario
        tally.scenarioCount[s] += 1
        tally.lastEventNanos = max(tally.lastEventNanos, now)
        let offset = now >= spec.startNanos ? now - spec.startNanos : 0
        let bucket = second(offset)
        tally.perSecond[bucket].completed += 1
        guard code == CURLE_OK else {
            switch failureClass(code) {
            case .connect: tally.scenarioErrors[s].connect += 1
            case .timeout: tally.scenarioErrors[s].timeout += 1
            case .other: tally.scenarioErrors[s].other += 1
            }
            tally.perSecond[bucket].errors += 1
            return
        }
        let status = slot.easy.responseCode
        if let expected = spec.targets[s].expectStatus {
            if !expected.contains(status) {
                tally.scenarioErrors[s].expectation += 1
                tally.perSecond[bucket].errors += 1
            }
        } else if status >= 400 || status < 100 {
            tally.scenarioErrors[s].status += 1
            tally.perSecond[bucket].errors += 1
        }
        let latency = micros(now, since: slot.intendedNanos)
        let service = micros(now, since: slot.startNanos)
        _ = tally.latency.record(latency)
        _ = tally.service.record(service)
        _ = tally.scenarioLatency[s].record(latency)
        _ = tally.scenarioService[s].record(service)
        tally.perSecond[bucket].maxLatency = max(tally.perSecond[bucket].maxLatency, Double(latency) / 1e6)
    }

    private func countDropped(scenario: Int, phase: Int, at intended: UInt64) {
        tally.scenarioDropped[scenario] += 1
        tally.phaseDropped[phase] += 1
        tally.perSecond[second(intended - spec.startNanos)].dropped += 1
    }

    /// Past the hard deadline (or on cancellation): in-flight transfers count as timeouts,
    /// waiting and never-due requests as dropped, so every planned request is accounted for.
    private func abandon(cursor: inout ArrivalSchedule.Cursor?, now: UInt64) {
        for slot in slots where slot.startNanos > 0 && !free.contains(where: { $0 === slot }) {
            multi.remove(slot.easy)
            tally.scenarioCount[slot.scenario] += 1
            tally.scenarioErrors[slot.scenario].timeout += 1
            tally.perSecond[second(now - min(now, spec.startNanos))].errors += 1
            free.append(slot)
        }
        active = 0
        while waitingHead < waiting.count {
            let pending = waiting[waitingHead]
            let offset = pending.intendedNanos - spec.startNanos
            countDropped(scenario: pending.scenario, phase: spec.schedule?.phase(atNanos: offset) ?? 0, at: pending.intendedNanos)
            waitingHead += 1
        }
        if var c = cursor {
            while !c.isExhausted {
                let (phase, offset) = c.current
                countDropped(scenario: picker.pick(), phase: phase, at: spec.startNanos + offset)
                c.advance()
            }
            cursor = c
        }
        tally.lastEventNanos = max(tally.lastEventNanos, now)
    }

    private func abandon(cursor: inout ArrivalSchedule.Cursor, now: UInt64) {
        var optional: ArrivalSchedule.Cursor? = cursor
        abandon(cursor: &optional, now: now)
        if let c = optional { cursor = c }
    }

    /// Detaches every easy handle before the multi handle can be cleaned up.
    private func finish() {
        for slot in slots { multi.remove(slot.easy) }
    }

    /// Looks at the shared stop signal at most every 10 ms.
    private func isStopped(_ now: UInt64) -> Bool {
        if now >= nextStopCheck {
            stopped = stop.isStopped
            nextStopCheck = now + 10_000_000
        }
        return stopped
    }

    private func second(_ offsetNanos: UInt64) -> Int {
        min(Int(offsetNanos / 1_000_000_000), spec.seconds - 1)
    }

    private func micros(_ now: UInt64, since start: UInt64) -> UInt64 {
        let value = now > start ? (now - start) / 1000 : 0
        return min(max(value, 1), spec.highestTrackableMicros)
    }
}
