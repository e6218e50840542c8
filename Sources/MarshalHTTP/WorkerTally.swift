import Foundation
import Histogram
import MarshalCore

/// What one worker measured; merged with the others' at the end.
struct WorkerTally: Sendable {
    var latency: Histogram<UInt64>
    var service: Histogram<UInt64>
    var scenarioLatency: [Histogram<UInt64>]
    var scenarioService: [Histogram<UInt64>]
    var scenarioCount: [Int]
    var scenarioErrors: [ErrorCounts]
    var scenarioDropped: [Int]
    /// Answers (any HTTP status) that arrived by the end of the run's duration: a closed loop's
    /// throughput, as wrk counts it (see `CurlLoadGenerator.stats`).
    var scenarioAnsweredInWindow: [Int]
    var phaseSent: [Int]
    var phaseDropped: [Int]
    var perSecond: [SecondStats]
    var lastEventNanos: UInt64
    /// Virtual users: users that sent / were answered at least once, and how late their sends were.
    var usersStarted = 0
    var usersServed = 0
    var lateNanosTotal: UInt64 = 0
    var lateNanosMax: UInt64 = 0
    var lateCount = 0
    var failure: String?
    /// The first failure of each error class, in words, so an operator learns why, not only how many.
    var errorSamples: [String: String] = [:]

    mutating func sample(_ kind: String, _ reason: @autoclosure () -> String) {
        if errorSamples[kind] == nil { errorSamples[kind] = reason() }
    }

    init(scenarios: Int, phases: Int, seconds: Int, highestTrackableMicros: UInt64) {
        let empty = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestTrackableMicros, numberOfSignificantValueDigits: .three)
        latency = empty
        service = empty
        scenarioLatency = Array(repeating: empty, count: scenarios)
        scenarioService = Array(repeating: empty, count: scenarios)
        scenarioCount = Array(repeating: 0, count: scenarios)
        scenarioErrors = Array(repeating: ErrorCounts(), count: scenarios)
        scenarioDropped = Array(repeating: 0, count: scenarios)
        scenarioAnsweredInWindow = Array(repeating: 0, count: scenarios)
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
            scenarioAnsweredInWindow[i] += other.scenarioAnsweredInWindow[i]
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
        usersStarted += other.usersStarted
        usersServed += other.usersServed
        lateNanosTotal += other.lateNanosTotal
        lateNanosMax = max(lateNanosMax, other.lateNanosMax)
        lateCount += other.lateCount
        failure = failure ?? other.failure
        errorSamples.merge(other.errorSamples) { mine, _ in mine }
    }
}
