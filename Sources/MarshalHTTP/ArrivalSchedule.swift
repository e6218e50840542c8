import Foundation
import MarshalCore

/// Planned send times of an open-loop run. Arrival j of a phase is sent when the phase's
/// cumulative planned count N(t) = r0·t + (r1 − r0)·t²/(2D) reaches j, so a ramp from r0 to r1
/// grows the rate linearly (the pacing of k6's ramping-arrival-rate executor).
struct ArrivalSchedule: Sendable {
    struct PhaseShape: Sendable {
        let offsetNanos: UInt64
        let durationNanos: UInt64
        let rate: Double
        let rampTo: Double
        let count: Int
        let firstIndex: Int
    }

    let phases: [PhaseShape]
    let total: Int

    init(_ phases: [LoadPlan.Phase]) {
        var shapes: [PhaseShape] = []
        var offset: UInt64 = 0
        var first = 0
        for phase in phases {
            let seconds = phase.duration.secondsDouble
            let r1 = phase.rampTo ?? phase.rate
            let planned = (phase.rate + r1) / 2 * seconds
            // Arrivals sit at N(t) = 0, 1, 2, … strictly before the phase ends.
            let count = max(0, Int((planned - 1e-9).rounded(.up)))
            let nanos = UInt64((seconds * 1e9).rounded())
            shapes.append(PhaseShape(offsetNanos: offset, durationNanos: nanos, rate: phase.rate, rampTo: r1, count: count, firstIndex: first))
            offset += nanos
            first += count
        }
        self.phases = shapes
        total = first
    }

    private init(phases: [PhaseShape], total: Int) {
        self.phases = phases
        self.total = total
    }

    /// The same schedule in storage of its own (see WorkerSpec).
    func copy() -> ArrivalSchedule {
        ArrivalSchedule(phases: phases.map { $0 }, total: total)
    }

    var durationNanos: UInt64 { phases.last.map { $0.offsetNanos + $0.durationNanos } ?? 0 }

    /// Offset from the run's start of arrival `j` of phase `p`.
    func offsetNanos(phase p: Int, arrival j: Int) -> UInt64 {
        let shape = phases[p]
        guard j > 0 else { return shape.offsetNanos }
        let d = Double(shape.durationNanos) / 1e9
        let a = (shape.rampTo - shape.rate) / (2 * d)
        // t = 2j / (r0 + √(r0² + 4aj)) is the root of a·t² + r0·t − j = 0 that stays exact when a → 0.
        let root = (shape.rate * shape.rate + 4 * a * Double(j)).squareRoot()
        let t = 2 * Double(j) / (shape.rate + root)
        let nanos = min(UInt64(max(0, t) * 1e9), shape.durationNanos - 1)
        return shape.offsetNanos + nanos
    }

    /// Which phase an offset falls in, or nil after the last phase ends.
    func phase(atNanos offset: UInt64) -> Int? {
        phases.lastIndex { $0.offsetNanos <= offset && offset < $0.offsetNanos + $0.durationNanos }
    }

    /// Walks arrivals `start, start + stride, …` across phases: one worker's share.
    struct Cursor {
        let schedule: ArrivalSchedule
        let stride: Int
        private(set) var index: Int
        private(set) var phase = 0

        init(schedule: ArrivalSchedule, start: Int, stride: Int) {
            self.schedule = schedule
            self.stride = stride
            index = start
            settle()
        }

        var isExhausted: Bool { index >= schedule.total }

        /// (phase, offset) of the current arrival.
        var current: (phase: Int, offsetNanos: UInt64) {
            (phase, schedule.offsetNanos(phase: phase, arrival: index - schedule.phases[phase].firstIndex))
        }

        mutating func advance() {
            index += stride
            settle()
        }

        private mutating func settle() {
            while phase < schedule.phases.count, index >= schedule.phases[phase].firstIndex + schedule.phases[phase].count {
                phase += 1
            }
        }
    }
}

/// Picks scenarios in proportion to their weights, spread out rather than in runs
/// (smooth weighted round-robin, as nginx balances upstreams).
struct ScenarioPicker {
    private let order: [Int]
    private var next = 0

    init(weights: [Int]) {
        var current = Array(repeating: 0, count: weights.count)
        let total = weights.reduce(0, +)
        var order: [Int] = []
        for _ in 0..<max(total, 1) {
            for i in weights.indices { current[i] += weights[i] }
            let best = current.indices.max { current[$0] < current[$1] } ?? 0
            current[best] -= total
            order.append(best)
        }
        self.order = order
    }

    init(weights: [Int], offset: Int) {
        self.init(weights: weights)
        next = offset % order.count
    }

    /// Where user `user` starts in the weighted order, so users spread over the scenarios.
    func position(for user: Int) -> Int { user % order.count }

    /// The scenario at `position` of the weighted order (repeating): a user's flow of requests.
    func scenario(atPosition position: Int) -> Int { order[position % order.count] }

    mutating func pick() -> Int {
        let chosen = order[next]
        next = (next + 1) % order.count
        return chosen
    }
}
