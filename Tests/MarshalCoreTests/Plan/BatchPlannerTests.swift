import MarshalCore
import Testing

@Suite("Batches")
struct BatchPlannerTests {
    let five = ["web1", "web2", "web3", "web4", "web5"]

    @Test("[1, 50%, 100%] over 5 hosts: a canary, then up to half (rounded up), then the rest")
    func canary() {
        #expect(BatchPlanner.batches(five, sizes: [.count(1), .percent(50), .percent(100)]) == [["web1"], ["web2", "web3"], ["web4", "web5"]])
    }

    @Test("a list that ends early repeats its last count")
    func repeatCount() {
        #expect(BatchPlanner.batches(five, sizes: [.count(2)]) == [["web1", "web2"], ["web3", "web4"], ["web5"]])
    }

    @Test("a list ending below 100% puts the rest in one final batch")
    func remainder() {
        #expect(BatchPlanner.batches(five, sizes: [.percent(20)]) == [["web1"], ["web2", "web3", "web4", "web5"]])
    }

    @Test("a percentage already reached still takes one host, so no batch is empty")
    func neverEmpty() {
        let batches = BatchPlanner.batches(["a", "b"], sizes: [.count(1), .percent(10), .percent(100)])
        #expect(batches == [["a"], ["b"]])
        #expect(BatchPlanner.batches([String](), sizes: [.count(1)]).isEmpty)
    }

    @Test("every host is in exactly one batch, in order, for many shapes")
    func partition() {
        let hosts = (1...37).map { "h\($0)" }
        for sizes: [BatchSize] in [[.count(1), .percent(50), .percent(100)], [.count(3)], [.percent(10), .percent(30)], [.count(100)]] {
            #expect(BatchPlanner.batches(hosts, sizes: sizes).flatMap { $0 } == hosts)
        }
    }

    @Test("max_failures: a count or a share of the hosts tolerated; one more stops the rollout")
    func failureLimit() {
        #expect(FailureLimit.count(0).tolerated(outOf: 5) == 0)
        #expect(FailureLimit.percent(10).tolerated(outOf: 50) == 5)
        #expect(FailureLimit.percent(10).tolerated(outOf: 5) == 0)
    }
}
