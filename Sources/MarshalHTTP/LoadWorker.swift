internal import CCurl
import Foundation
import Histogram
import MarshalCore

/// One connection and the request it carries. Its index travels through CURLOPT_PRIVATE.
final class Slot {
    let index: Int
    let connection: LoadConnection
    var scenario = 0
    var intendedNanos: UInt64 = 0
    var startNanos: UInt64 = 0
    var deadlineNanos: UInt64 = 0
    /// Carries a request now (connecting for it, sending it, or waiting for its answer).
    var busy = false
    /// Bytes of the request written so far.
    var sent = 0
    var wantsWrite = false
    var retried = false
    var parser = ResponseParser()
    /// Waiting for a free connector (see `LoadWorker.maxConnecting`).
    var queuedForConnect = false
    /// Neighbours in the worker's deadline list, by slot index (-1: none).
    var dueNext = -1
    var duePrev = -1
    var inDueList = false
    /// Connecting ahead of the first request (open loop warm-up).
    var warming = false
    /// Connected, and no answer on the connection yet (see `LoadWorker.unanswered`).
    var unanswered = false
    /// Virtual users: the user's place in the weighted flow of requests, and whether it has sent
    /// and been answered at least once.
    var flowStep = 0
    var userStarted = false
    var userServed = false

    init(index: Int, connection: LoadConnection) {
        self.index = index
        self.connection = connection
    }
}

/// A request accepted by the open-loop schedule that waits for a free connection.
struct Pending {
    let intendedNanos: UInt64
    let scenario: Int
}

/// Slot indices with the instant each is due, in the order they were pushed; pushes come in
/// due order (see `LoadWorker.thinking`), so the head is always the earliest.
struct DueQueue {
    private var items: [(slot: Int, due: UInt64)] = []
    private var head = 0

    mutating func push(_ slot: Int, at due: UInt64) { items.append((slot, due)) }

    var nextDue: UInt64? { head < items.count ? items[head].due : nil }

    mutating func popDue(now: UInt64) -> (Int, UInt64)? {
        guard head < items.count, items[head].due <= now else { return nil }
        let item = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return (item.slot, item.due)
    }
}

/// How one request ended.
enum RequestOutcome {
    case response(status: Int)
    case failure(FailureClass)
}

/// Drives one share of the load on the thread that created it; nothing here is shared.
final class LoadWorker {
    private let spec: WorkerSpec
    private let stop: StopSignal
    private let watch: AbortWatch?
    private var stopped = false
    private var nextStopCheck: UInt64 = 0
    /// Progress: a copy of the tally posted about once a second (issue 16), when someone listens.
    private let progress: ProgressBoard?
    private let progressIndex: Int
    private var nextProgress: UInt64 = 0
    private let multi: MultiHandle
    private let poolLimit: Int
    private let inFlightLimit: Int
    private let requests: [WireRequest]
    private var slots: [Slot] = []
    /// By socket descriptor: the slot whose connection it is, or -1.
    private var slotBySocket: [Int] = []
    private var free: [Slot] = []
    /// Slots whose request ended; the loop hands them their next request (closed loop) or frees them.
    private var ended: [Slot] = []
    private var endedSpare: [Slot] = []
    private var restart = false
    /// Virtual users: an ended slot's user thinks this long, then sends again (nil: not a user run).
    private var thinkNanos: UInt64?
    /// Users waiting to send, in the order they are due (a fixed think time keeps answer order =
    /// due order, so a FIFO is a timer queue: O(1) per request). Users not yet started by the
    /// ramp-up wait in `arrivals`, also in due order.
    private var thinking = DueQueue()
    private var arrivals = DueQueue()
    private var waiting: [Pending] = []
    private var waitingHead = 0
    private var active = 0
    private var tally: WorkerTally
    private var picker: ScenarioPicker
    /// One receive buffer for every connection: a response is parsed as it is read.
    private let buffer: UnsafeMutableRawBufferPointer
    /// Busy slots in the order their requests started. Every request has the same timeout, so
    /// this is also deadline order: expiry looks at the head only, and a request that ends is
    /// unlinked in O(1) — no scan over all connections per wake-up.
    private var dueHead = -1
    private var dueTail = -1
    /// Connect handles not in use; a plain connection returns its handle once connected.
    private var connectors: [EasyHandle] = []
    private var connecting = 0
    /// Slots waiting for a connect to start, oldest first.
    private var connectQueue: [Int] = []
    private var connectQueueHead = 0
    /// Connects in progress at once: bounds the easy handles (each tens of KiB) a burst of new
    /// connections needs, as 10,000 connections opened at once would otherwise hold 10,000.
    static let maxConnecting = 256
    /// Closed loop: connections connected but not answered yet count against `maxConnecting` too.
    /// The client's connect is done at the server's SYN-ACK, before the server accepts; a server
    /// slower to accept than connects come fills its accept queue (4,096 here), and then drops
    /// SYNs, resent after 1, 3, 7 s: at 10,000 connections 200–460 requests a run failed so
    /// (connect timeouts, or no answer within 10 s). An answer shows the server accepted.
    private var unanswered = 0
    private var pacesConnects: Bool { restart }
    private var connectRoom: Bool { connecting + (pacesConnects ? unanswered : 0) < LoadWorker.maxConnecting }
    /// Planned sends are woken for on this grid (wrk2's is 1 ms): a precise wake-up per request
    /// cost more CPU in the scheduler's sleep and wake than the request itself (perf: 29 % of
    /// samples in finish_task_switch at 20,000 req/s). A send waits at most this long past its
    /// planned time, and that wait is in its latency, which counts from the planned time.
    /// 1 ms, as wrk2's: at 0.5 ms the wake-ups cost 25.9 µs CPU per request against 20.6 µs at
    /// 1 ms (`marshal bench --rate 10000`, medians of 4 alternating 5 s runs, load average 15–20).
    static let sendTickNanos: UInt64 = 1_000_000
    /// Open loop at one send or more per tick on plain HTTP: the worker wakes once per tick and
    /// reads every answer that arrived meanwhile, instead of waking for each answer as well. Waking
    /// per answer made about 3 sleeps and wake-ups per 5 requests at 10,000 req/s (31k voluntary
    /// context switches for 50k requests against wrk2's 12k), and a sleep and wake-up cost more
    /// CPU than the request (perf: 21 % of samples in finish_task_switch). An answer read up to a
    /// tick late is timed at its arrival all the same: the kernel stamps it (SO_TIMESTAMPNS).
    private var pacedPhases: [Bool] = []
    /// CLOCK_REALTIME − CLOCK_MONOTONIC, to turn the kernel's arrival stamps into monotonic
    /// instants; taken again at every wake-up, so a clock adjustment shifts at most one wake-up's
    /// answers.
    private var realtimeOffset: Int64 = 0
    /// Some phase is paced: connections have the kernel stamp their answers' arrival.
    private var stampsArrivals = false

    /// `poolLimit` connections; `inFlightLimit` counts active plus waiting requests.
    init(spec: RunSpec, poolLimit: Int, inFlightLimit: Int, pickerOffset: Int) throws(CurlFailure) {
        self.spec = spec.settings.copied()
        stop = spec.stop
        watch = spec.watch
        progress = spec.progress
        progressIndex = pickerOffset
        self.poolLimit = poolLimit
        self.inFlightLimit = inFlightLimit
        multi = try MultiHandle(connections: poolLimit)
        var built: [WireRequest] = []
        for t in self.spec.targets {
            built.append(try WireRequest(url: t.url, method: t.method, headers: t.headers, body: t.body))
        }
        requests = built
        tally = WorkerTally(scenarios: self.spec.targets.count, phases: self.spec.schedule?.phases.count ?? 0,
                            seconds: self.spec.seconds, highestTrackableMicros: self.spec.highestTrackableMicros)
        picker = ScenarioPicker(weights: self.spec.weights, offset: pickerOffset)
        buffer = .allocate(byteCount: 16 * 1024, alignment: 16)
    }

    deinit {
        buffer.deallocate()
    }

    // MARK: open loop

    func runOpenLoop(cursor start: ArrivalSchedule.Cursor) throws(CurlFailure) -> WorkerTally {
        var cursor = start
        defer { finish() }
        pacedPhases = pacedPhases(stride: start.stride)
        stampsArrivals = pacedPhases.contains(true)
        try warm(connections: warmCount(stride: start.stride))
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
            if cursor.isExhausted && active == 0 && waitingHead == waiting.count { break }
            if cursor.isExhausted {
                try serve(milliseconds: 50)
            } else if pacedPhases[cursor.current.phase] && (active > 0 || !ended.isEmpty) {
                try serveAtTick(until: sendTick(atOrAfter: cursor.current.offsetNanos))
            } else {
                // One wait per wake-up, ended at the next send tick (epoll_pwait2's timeout, no
                // timer to re-arm); every send due by then goes out on waking.
                try serve(milliseconds: 50, until: sendTick(atOrAfter: cursor.current.offsetNanos))
            }
            try startWaiting(now: monotonicNanos())
        }
        return tally
    }

    /// Phases that send one request or more per tick on this worker, over plain HTTP (TLS answers
    /// are read through libcurl, which gives no arrival stamp).
    private func pacedPhases(stride: Int) -> [Bool] {
        guard let phases = spec.schedule?.phases, !spec.targets[0].url.lowercased().hasPrefix("https:") else {
            return Array(repeating: false, count: spec.schedule?.phases.count ?? 0)
        }
        let perTick = Double(LoadWorker.sendTickNanos) / 1e9 / Double(max(1, stride))
        return phases.map { max($0.rate, $0.rampTo) * perTick >= 1 }
    }

    /// One tick of a paced phase: sleeps until `tick` (at most one tick), not waking for answers,
    /// then reads every answer, connect and timeout that came meanwhile.
    private func serveAtTick(until tick: UInt64) throws(CurlFailure) {
        if ended.isEmpty {
            marshal_sleep_until_ns(min(tick, monotonicNanos() + LoadWorker.sendTickNanos))
        }
        // A wait returns at most `readyLimit` sockets: drain, bounded, when more may be ready.
        var rounds = 0
        repeat {
            try serve(milliseconds: 0)
            rounds += 1
        } while multi.lastReadyCount == MultiHandle.readyLimit && rounds < 64
    }

    /// When the answer now complete on `slot` arrived: the kernel's stamp of its last bytes when
    /// the socket has them (within the request's own time), else `now`.
    private func arrival(of slot: Slot, now: UInt64) -> UInt64 {
        let stamp = slot.connection.lastArrival
        guard slot.connection.stampsArrivals, stamp != 0 else { return now }
        let instant = stamp - realtimeOffset
        guard instant > 0, UInt64(instant) >= slot.startNanos, UInt64(instant) <= now else { return now }
        return UInt64(instant)
    }

    /// The first send tick at or after `offset` nanoseconds into the run, as a monotonic instant.
    private func sendTick(atOrAfter offset: UInt64) -> UInt64 {
        let tick = LoadWorker.sendTickNanos
        return spec.startNanos + (offset + tick - 1) / tick * tick
    }

    /// Connections opened before the first planned send, so the first second's requests do not
    /// queue behind connects (which dropped 1,100–1,700 requests at 30,000 req/s): this worker's
    /// share of the first phase's highest rate over 50 ms, at least 1, at most the pool. (Before,
    /// the warm loop took back the slot it had just freed, so it warmed one connection whatever
    /// the count; 16 at once against a small server with a listen backlog of 5 (Python's) had
    /// SYNs dropped and put 1 s tails in CanaryTests' p95 at 25 req/s.) Over
    /// 10 ms, a stall early in the run still dropped 41–1,219 requests at 30,000 req/s, all in
    /// the first second (its in-flight requests waited for connects opened mid-run); over 50 ms,
    /// none in three runs.
    private func warmCount(stride: Int) -> Int {
        guard let first = spec.schedule?.phases.first else { return 0 }
        let rate = max(first.rate, first.rampTo) / Double(max(1, stride))
        return min(poolLimit, max(1, Int((rate * 0.05).rounded(.up))))
    }

    /// Opens `count` idle connections, waiting for them until the run's start at the latest.
    private func warm(connections count: Int) throws(CurlFailure) {
        var warmed: [Slot] = []
        for _ in 0..<count {
            guard let slot = try takeSlot() else { break }
            slot.warming = true
            requestConnect(slot)
            warmed.append(slot)
        }
        // Taken from the end: the first connects started, most likely done, go first, rather than
        // the last queued, which a request would wait behind the whole connect queue for.
        free.append(contentsOf: warmed.reversed())
        while (connecting > 0 || connectQueueHead < connectQueue.count) && monotonicNanos() < spec.startNanos {
            try serve(milliseconds: 5, until: spec.startNanos)
        }
    }

    private func startWaiting(now: UInt64) throws(CurlFailure) {
        while waitingHead < waiting.count {
            guard let slot = try takeSlot() else { return }
            let pending = waiting[waitingHead]
            waitingHead += 1
            start(slot, scenario: pending.scenario, intended: pending.intendedNanos)
        }
        if waitingHead > 1024 && waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
    }

    // MARK: closed loop

    func runClosedLoop(connections: Int) throws(CurlFailure) -> WorkerTally {
        defer { finish() }
        restart = true
        let now = monotonicNanos()
        if spec.startNanos > now { usleep(UInt32((spec.startNanos - now) / 1000)) }
        for _ in 0..<connections {
            guard let slot = try takeSlot() else { break }
            start(slot, scenario: picker.pick(), intended: nil)
        }
        while active > 0 {
            let now = monotonicNanos()
            if now >= spec.hardDeadlineNanos || isStopped(now) {
                var idle = ArrivalSchedule.Cursor?.none
                abandon(cursor: &idle, now: now)
                break
            }
            try serve(milliseconds: 50)
        }
        return tally
    }

    // MARK: virtual users

    /// `users` are this worker's users as indices among all `total` (for their ramp-up start).
    func runUsers(_ plan: LoadPlan.Users, users: [Int], total: Int) throws(CurlFailure) -> WorkerTally {
        defer { finish() }
        thinkNanos = UInt64(max(0, plan.thinkTime.secondsDouble) * 1e9)
        let ramp = plan.rampUp.secondsDouble * 1e9
        for user in users {
            guard let slot = try takeSlot() else { break }
            slot.flowStep = picker.position(for: user)
            arrivals.push(slot.index, at: spec.startNanos + UInt64(ramp * Double(user) / Double(max(1, total))))
        }
        while true {
            let now = monotonicNanos()
            if now >= spec.hardDeadlineNanos || isStopped(now) {
                var idle = ArrivalSchedule.Cursor?.none
                abandon(cursor: &idle, now: now)
                break
            }
            startDueUsers(now: now)
            let next = min(arrivals.nextDue ?? .max, thinking.nextDue ?? .max)
            if active == 0 && next == .max && ended.isEmpty { break }
            if next == .max {
                try serve(milliseconds: 50)
            } else {
                try serve(milliseconds: 50, until: sendTick(atOrAfter: next > spec.startNanos ? next - spec.startNanos : 0))
            }
        }
        for slot in slots {
            if slot.userStarted { tally.usersStarted += 1 }
            if slot.userServed { tally.usersServed += 1 }
        }
        return tally
    }

    /// Users whose start or think time has come send their next request of the flow.
    private func startDueUsers(now: UInt64) {
        while let (index, due) = arrivals.popDue(now: now) { startUser(slots[index], due: due, now: now) }
        while let (index, due) = thinking.popDue(now: now) { startUser(slots[index], due: due, now: now) }
    }

    private func startUser(_ slot: Slot, due: UInt64, now: UInt64) {
        slot.userStarted = true
        let late = now > due ? now - due : 0
        tally.lateNanosTotal += late
        tally.lateNanosMax = max(tally.lateNanosMax, late)
        tally.lateCount += 1
        let scenario = picker.scenario(atPosition: slot.flowStep)
        slot.flowStep += 1
        start(slot, scenario: scenario, intended: due)
    }

    // MARK: the event loop

    /// One wake-up: connects libcurl finished, sockets ready to read or write, requests past their
    /// timeout; then every slot whose request ended gets its next one or goes back to the pool.
    private func serve(milliseconds: Int, until deadline: UInt64? = nil) throws(CurlFailure) {
        // Slots that ended while being handed on last time are served now, without waiting.
        multi.wait(milliseconds: ended.isEmpty ? milliseconds : 0, until: deadline)
        if stampsArrivals { realtimeOffset = realtimeNanos() - Int64(bitPattern: monotonicNanos()) }
        while let (easy, code) = multi.nextFinished() {
            var raw: UnsafeMutablePointer<CChar>?
            _ = marshal_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &raw)
            let index = Int(bitPattern: raw) - 1
            guard slots.indices.contains(index) else { continue }
            connectFinished(slots[index], code: code)
        }
        for (fd, bits) in zip(multi.ownedReady, multi.ownedBits) {
            let index = Int(fd) < slotBySocket.count ? slotBySocket[Int(fd)] : -1
            guard index >= 0 else { continue }
            let slot = slots[index]
            if bits & MARSHAL_EPOLLOUT != 0 && slot.wantsWrite { send(slot) }
            if bits & (MARSHAL_EPOLLIN | MARSHAL_EPOLLERR) != 0 { receive(slot) }
        }
        let now = monotonicNanos()
        expireOverdue(now: now)
        startQueuedConnects()
        if let progress, now >= nextProgress {
            progress.post(progressIndex, tally, now: now)
            nextProgress = now + 1_000_000_000
        }
        try handOn(now: now)
    }

    /// Ended slots: the next request at once (closed loop, inside the sending window), else free.
    /// One pass only: a request that ends as it starts (libcurl refusing the handle) waits for the
    /// next wake-up, so the loop still reaches its deadline and stop checks.
    private func handOn(now: UInt64) throws(CurlFailure) {
        swap(&ended, &endedSpare)
        for slot in endedSpare {
            if let think = thinkNanos {
                // A user thinks, then sends again, if that is still inside the run's duration.
                if now + think < spec.endNanos && !stopped { thinking.push(slot.index, at: now + think) }
            } else if restart && now < spec.endNanos && !stopped {
                start(slot, scenario: picker.pick(), intended: nil)
            } else {
                free.append(slot)
            }
        }
        endedSpare.removeAll(keepingCapacity: true)
    }

    // MARK: requests

    private func takeSlot() throws(CurlFailure) -> Slot? {
        if let slot = free.popLast() { return slot }
        guard slots.count < poolLimit else { return nil }
        let connection = LoadConnection(isTLS: spec.targets[0].url.lowercased().hasPrefix("https:"))
        let slot = Slot(index: slots.count, connection: connection)
        slots.append(slot)
        return slot
    }

    /// Connects the slot now, or as soon as fewer than `maxConnecting` connects are in progress.
    private func requestConnect(_ slot: Slot) {
        if connectRoom && connectQueueHead == connectQueue.count {
            startConnect(slot)
        } else if !slot.queuedForConnect {
            slot.queuedForConnect = true
            connectQueue.append(slot.index)
        }
    }

    private func startConnect(_ slot: Slot) {
        let easy: EasyHandle
        if let spare = connectors.popLast() {
            easy = spare
        } else {
            do {
                easy = try LoadConnection.connector(url: spec.targets[0].url, connectTimeout: spec.connectTimeout,
                                                    insecure: spec.insecure, multi: multi)
            } catch {
                if slot.busy { end(slot, .failure(.other), reason: "libcurl could not make a connection handle: \(error.message)") }
                return
            }
        }
        guard slot.connection.connect(with: easy, index: slot.index, through: multi) else {
            connectors.append(easy)
            if slot.busy { end(slot, .failure(.other), reason: "libcurl refused the connection's handle") }
            return
        }
        connecting += 1
    }

    /// Starts queued connects while there is room; a slot that no longer needs one is skipped.
    private func startQueuedConnects() {
        while connectRoom && connectQueueHead < connectQueue.count {
            let slot = slots[connectQueue[connectQueueHead]]
            connectQueueHead += 1
            slot.queuedForConnect = false
            if slot.connection.state == .closed && (slot.busy || slot.warming) { startConnect(slot) }
        }
        if connectQueueHead == connectQueue.count {
            connectQueue.removeAll(keepingCapacity: true)
            connectQueueHead = 0
        }
    }

    private func recycle(_ easy: EasyHandle?) {
        guard let easy, connectors.count < LoadWorker.maxConnecting else { return }
        connectors.append(easy)
    }

    /// `intended` nil (closed loop): the request is due the moment it is sent.
    private func start(_ slot: Slot, scenario: Int, intended: UInt64?) {
        slot.scenario = scenario
        let now = monotonicNanos()
        slot.intendedNanos = intended ?? now
        slot.startNanos = now
        slot.deadlineNanos = now + UInt64(spec.timeout.secondsDouble * 1e9)
        slot.busy = true
        slot.retried = false
        active += 1
        linkDue(slot)
        let offset = now >= spec.startNanos ? now - spec.startNanos : 0
        tally.perSecond[second(offset)].sent += 1
        if let schedule = spec.schedule, let phase = schedule.phase(atNanos: offset) {
            tally.phaseSent[phase] += 1
        }
        begin(slot)
    }

    /// Sends the slot's request on its connection, connecting first when it has none.
    private func begin(_ slot: Slot) {
        slot.sent = 0
        slot.parser.reset(bodiless: requests[slot.scenario].bodiless)
        switch slot.connection.state {
        case .open:
            send(slot)
        case .closed:
            requestConnect(slot)
        case .connecting:
            break
        }
    }

    private func connectFinished(_ slot: Slot, code: CURLcode) {
        guard slot.connection.state == .connecting else { return }
        connecting -= 1
        slot.warming = false
        let (ok, spare) = code == CURLE_OK ? slot.connection.connected(through: multi) : (false, nil)
        recycle(spare)
        guard ok else {
            // Recorded before the close: libcurl's error text is read from the handle, and only
            // when it is the first failure of its class.
            if slot.busy { end(slot, .failure(code == CURLE_OK ? .connect : failureClass(code)), reason: slot.connection.failureText(code)) }
            recycle(slot.connection.close(through: multi))
            return
        }
        if slot.connection.isSelfConnected {
            // Nothing listens on the port, and the kernel picked that same port for our end: the
            // connection reached itself, so what it "answers" is our own request.
            close(slot)
            if slot.busy { end(slot, .failure(.connect), reason: "connection refused: nothing listens on the target port (the connection reached itself: TCP self-connect on a port in the ephemeral range)") }
            return
        }
        let fd = Int(slot.connection.socket)
        if fd >= slotBySocket.count { slotBySocket += Array(repeating: -1, count: fd + 1 - slotBySocket.count + 64) }
        slotBySocket[fd] = slot.index
        slot.unanswered = true
        unanswered += 1
        slot.wantsWrite = false
        multi.claim(slot.connection.socket, write: false)
        if stampsArrivals { slot.connection.stampArrivals() }
        if slot.busy { send(slot) }
    }

    private func send(_ slot: Slot) {
        let request = requests[slot.scenario].bytes
        while slot.sent < request.count {
            let (count, code) = request.withUnsafeBytes { slot.connection.send(UnsafeRawBufferPointer(rebasing: $0[slot.sent...])) }
            if code == CURLE_AGAIN || (code == CURLE_OK && count == 0) {
                // The socket buffer is full: go on when epoll says it is writable.
                if !slot.wantsWrite {
                    slot.wantsWrite = true
                    multi.claim(slot.connection.socket, write: true)
                }
                return
            }
            guard code == CURLE_OK else { return broken(slot, slot.connection.failureText(code)) }
            slot.sent += count
        }
        if slot.wantsWrite {
            slot.wantsWrite = false
            multi.claim(slot.connection.socket, write: false)
        }
    }

    private func receive(_ slot: Slot) {
        guard slot.busy else {
            // An idle connection became readable: the server closed it (or sent what nobody asked for).
            let (count, code) = slot.connection.receive(into: buffer)
            if code != CURLE_AGAIN || count > 0 { close(slot) }
            return
        }
        while true {
            let (count, code) = slot.connection.receive(into: buffer)
            if code == CURLE_AGAIN { return }
            guard code == CURLE_OK else { return broken(slot, slot.connection.failureText(code)) }
            let outcome = count == 0 ? slot.parser.endOfStream() : slot.parser.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            switch outcome {
            case .needMore:
                if count == 0 { return broken(slot, "the connection closed in the middle of the response") }
                // Plain TCP: a short read means the socket is drained, so wait for epoll rather than
                // spend a recv on EAGAIN. TLS may hold decrypted bytes back, so read until EAGAIN.
                if count < buffer.count && !slot.connection.isTLS { return }
            case .complete(let status, let keepAlive, let consumed):
                slot.userServed = true
                answered(slot)
                // Bytes after the response were not asked for: the connection cannot be trusted again.
                let reusable = keepAlive && consumed == count && count > 0
                slot.connection.served += 1
                let arrived = arrival(of: slot, now: monotonicNanos())
                if !reusable { close(slot) }
                end(slot, .response(status: status), at: arrived)
                return
            case .malformed(let why):
                // The server closing early is a broken connection (retried when it may be a stale
                // one); anything else it sent that is not HTTP fails the request.
                if count == 0 { return broken(slot, why) }
                close(slot)
                end(slot, .failure(.other), reason: "not an HTTP answer: \(why)")
                return
            }
        }
    }

    /// The connection failed under a request. On a connection that answered before, with nothing of
    /// this answer in, the server most likely closed it while idle: try once more on a new one (as
    /// libcurl and browsers do). Otherwise the request failed.
    private func broken(_ slot: Slot, _ reason: @autoclosure () -> String) {
        let retry = slot.connection.served > 0 && !slot.parser.started && !slot.retried
        close(slot)
        if retry {
            slot.retried = true
            begin(slot)
        } else {
            end(slot, .failure(.other), reason: reason())
        }
    }

    /// The slot's connection was answered, or closed: it no longer waits in the server's accept queue.
    private func answered(_ slot: Slot) {
        guard slot.unanswered else { return }
        slot.unanswered = false
        unanswered -= 1
    }

    private func close(_ slot: Slot) {
        answered(slot)
        if slot.connection.state == .open {
            let fd = Int(slot.connection.socket)
            if fd < slotBySocket.count { slotBySocket[fd] = -1 }
        }
        slot.wantsWrite = false
        if slot.connection.state == .connecting { connecting -= 1 }
        recycle(slot.connection.close(through: multi))
    }

    /// Requests past their timeout fail as timeouts; their connections cannot be reused.
    /// Only the head of the deadline list is looked at: O(1) when nothing expires.
    private func expireOverdue(now: UInt64) {
        while dueHead >= 0, now >= slots[dueHead].deadlineNanos {
            let slot = slots[dueHead]
            close(slot)
            end(slot, .failure(.timeout), reason: "no answer within \(DurationText.format(spec.timeout))")
        }
    }

    private func linkDue(_ slot: Slot) {
        if slot.inDueList { unlinkDue(slot) }
        slot.inDueList = true
        slot.duePrev = dueTail
        slot.dueNext = -1
        if dueTail >= 0 { slots[dueTail].dueNext = slot.index } else { dueHead = slot.index }
        dueTail = slot.index
    }

    private func unlinkDue(_ slot: Slot) {
        guard slot.inDueList else { return }
        if slot.duePrev >= 0 { slots[slot.duePrev].dueNext = slot.dueNext } else { dueHead = slot.dueNext }
        if slot.dueNext >= 0 { slots[slot.dueNext].duePrev = slot.duePrev } else { dueTail = slot.duePrev }
        slot.inDueList = false
        slot.duePrev = -1
        slot.dueNext = -1
    }

    /// `reason` says why a failure failed; it is worded only for the first failure of its class.
    /// `at`: when the answer arrived, if known more precisely than now.
    private func end(_ slot: Slot, _ outcome: RequestOutcome, reason: @autoclosure () -> String = "", at: UInt64? = nil) {
        slot.busy = false
        unlinkDue(slot)
        active -= 1
        record(slot, outcome, now: at ?? monotonicNanos(), reason: reason())
        ended.append(slot)
    }

    private func record(_ slot: Slot, _ outcome: RequestOutcome, now: UInt64, reason: @autoclosure () -> String) {
        // The request loop stays as it was unless abort rules were asked for.
        guard let watch else { return recordTally(slot, outcome, now: now, reason: reason()) }
        let bucket = second(now >= spec.startNanos ? now - spec.startNanos : 0)
        let errorsBefore = tally.perSecond[bucket].errors
        recordTally(slot, outcome, now: now, reason: reason())
        let failed = tally.perSecond[bucket].errors > errorsBefore
        let latency = Double(micros(now, since: slot.intendedNanos)) / 1e6
        let elapsed = Double(now >= spec.startNanos ? now - spec.startNanos : 0) / 1e9
        if watch.observe(error: failed, latency: latency, elapsed: elapsed) { stop.stop() }
    }

    private func recordTally(_ slot: Slot, _ outcome: RequestOutcome, now: UInt64, reason: @autoclosure () -> String) {
        let s = slot.scenario
        tally.scenarioCount[s] += 1
        tally.lastEventNanos = max(tally.lastEventNanos, now)
        let offset = now >= spec.startNanos ? now - spec.startNanos : 0
        let bucket = second(offset)
        tally.perSecond[bucket].completed += 1
        let status: Int
        switch outcome {
        case .failure(let kind):
            switch kind {
            case .connect: tally.scenarioErrors[s].connect += 1
            case .timeout: tally.scenarioErrors[s].timeout += 1
            case .other: tally.scenarioErrors[s].other += 1
            }
            tally.perSecond[bucket].errors += 1
            tally.sample("\(kind)", reason())
            return
        case .response(let code):
            status = code
        }
        if now <= spec.endNanos { tally.scenarioAnsweredInWindow[s] += 1 }
        if let expected = spec.targets[s].expectStatus {
            if !expected.contains(status) {
                tally.scenarioErrors[s].expectation += 1
                tally.perSecond[bucket].errors += 1
                tally.sample("expectation", "\(spec.targets[s].method) \(URLMask.display(spec.targets[s].url)) answered \(status), expected \(expected.sorted())")
            }
        } else if status >= 400 || status < 100 {
            tally.scenarioErrors[s].status += 1
            tally.perSecond[bucket].errors += 1
            tally.sample("status", "\(spec.targets[s].method) \(URLMask.display(spec.targets[s].url)) answered \(status)")
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

    /// Past the hard deadline (or on cancellation): in-flight requests count as timeouts,
    /// waiting and never-due requests as dropped, so every planned request is accounted for.
    private func abandon(cursor: inout ArrivalSchedule.Cursor?, now: UInt64) {
        for slot in slots where slot.busy {
            close(slot)
            unlinkDue(slot)
            slot.busy = false
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

    /// Closes every connection (libcurl closes a CONNECT_ONLY one as its handle leaves the multi
    /// handle) before the multi handle can be cleaned up.
    private func finish() {
        for slot in slots { close(slot) }
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
