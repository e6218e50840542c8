@testable import MarshalCore
import Testing

/// A side of a per-host load test (`targets: batch`) is judged by its worst host.
@Suite("The worst of several hosts' load-test figures")
struct WorstFiguresTests {
    @Test("highest latency and error rate, lowest throughput, success rate and users, per scenario too")
    func worstPerMetric() {
        let worst = BenchmarkGate.worst([
            ["p95": 0.010, "error_rate": 0.0, "rps": 50, "success_rate": 1.0, "users": 100, "checkout.p95": 0.020, "checkout.rps": 20],
            ["p95": 0.300, "error_rate": 0.02, "rps": 40, "success_rate": 0.98, "users": 90, "checkout.p95": 0.015, "checkout.rps": 10],
        ])
        #expect(worst == ["p95": 0.300, "error_rate": 0.02, "rps": 40, "success_rate": 0.98, "users": 90, "checkout.p95": 0.020, "checkout.rps": 10])
    }

    @Test("a figure one host lacks (it answered nothing, so no p95) is left out: no data, not the live host's latency")
    func deadHostLeavesNoFigure() {
        let worst = BenchmarkGate.worst([
            ["p95": 0.002, "error_rate": 0.0, "requests": 10],
            ["error_rate": 1.0, "requests": 10],
        ])
        #expect(worst["p95"] == nil)
        #expect(worst["error_rate"] == 1.0 && worst["requests"] == 10)
    }
}
