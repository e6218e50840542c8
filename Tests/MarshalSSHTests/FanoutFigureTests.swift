import Foundation
import MarshalCore
import Testing
@testable import MarshalSSH

/// Prints (does not assert) the wall time of Marshal's SSH layer fanning out to N lab hosts with
/// M `true` commands each — the interim Marshal-side figure for scripts/bench/ssh-fanout.
/// N and M come from MARSHAL_FANOUT_N and MARSHAL_FANOUT_M (scripts/bench/ssh-fanout sets 1,10,50
/// and 10); a plain `swift test` uses a small default so the suite stays quick.
@Suite("SSH fan-out figure", .serialized)
struct FanoutFigureTests {
    @Test("fanout figure: connect to N hosts in parallel, M commands each (prints wall times)", .timeLimit(.minutes(5)))
    func fanout() async throws {
        let environment = ProcessInfo.processInfo.environment
        let sizes = (environment["MARSHAL_FANOUT_N"] ?? "1,5").split(separator: ",").compactMap { Int($0) }
        let commands = Int(environment["MARSHAL_FANOUT_M"] ?? "10") ?? 10
        let repeats = Int(environment["MARSHAL_FANOUT_REPEATS"] ?? "3") ?? 3
        let lab = try await Lab.start(hosts: sizes.max() ?? 1, ttl: 600)
        defer { lab.stop() }
        let connector = SSHConnector()
        var lines: [String] = []
        for n in sizes {
            var samples: [Double] = []
            for _ in 0..<repeats {
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 1...n {
                        group.addTask {
                            let executor = try await connector.connect(lab.endpoint(index))
                            for _ in 0..<commands {
                                let result = try await executor.run(ShellCommand(literal: "true"), timeout: .seconds(30))
                                guard result.succeeded else { throw LabError(message: "true failed on web\(index)") }
                            }
                            await executor.close()
                        }
                    }
                    try await group.waitForAll()
                }
                samples.append((ContinuousClock.now - start).secondsDouble * 1000)
            }
            lines.append("fanout-figure N=\(n) M=\(commands) median_ms=\(String(format: "%.1f", median(samples))) samples=\(samples.map { String(format: "%.0f", $0) }.joined(separator: ","))")
        }
        // Per-step overhead at N=1: (M=100 − M=0) / 100, against a bare exec round trip.
        let executor = try await connector.connect(lab.endpoint(1))
        var perStep: [Double] = []
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            for _ in 0..<100 { _ = try await executor.run(ShellCommand(literal: "true"), timeout: .seconds(30)) }
            perStep.append((ContinuousClock.now - start).secondsDouble * 1000 / 100)
        }
        await executor.close()
        lines.append("fanout-figure per-step_ms=\(String(format: "%.2f", median(perStep)))")
        for line in lines { print(line) }
        let output = environment["MARSHAL_FANOUT_OUTPUT"]
        if let output { try lines.joined(separator: "\n").appending("\n").write(toFile: output, atomically: true, encoding: .utf8) }
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}
