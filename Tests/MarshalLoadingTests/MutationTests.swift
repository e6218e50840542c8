import Foundation
import MarshalCore
import MarshalTestSupport
import Testing
@testable import MarshalLoading

/// Feeds the loader thousands of broken variants of the shipped files. Proves: no crash, no hang,
/// and every failure is reported as a diagnostic with a real position (line and column ≥ 1).
@Suite("Mutation of shipped files")
struct MutationTests {
    static func mutate(_ text: String, using rng: inout SplitMix64) -> String {
        var lines = text.components(separatedBy: "\n")
        let operations = Int.random(in: 1...3, using: &rng)
        for _ in 0..<operations where !lines.isEmpty {
            let i = Int.random(in: 0..<lines.count, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0: lines.remove(at: i)                                   // deleted line
            case 1: lines.insert(lines[i], at: i)                         // duplicated line
            case 2: lines[i] = "  " + lines[i]                            // deeper indentation
            case 3: lines[i] = String(lines[i].drop { $0 == " " })        // indentation removed
            case 4:                                                       // random bytes
                var scalars = Array(lines[i].unicodeScalars)
                let count = Int.random(in: 1...4, using: &rng)
                for _ in 0..<count {
                    let pick = [UInt32(Int.random(in: 32...126, using: &rng)), 0x7B, 0x7D, 0x3A, 0x2D, 0x22, 0x27, 0x25, 0x0A, 0x09]
                    let value = pick[Int.random(in: 0..<pick.count, using: &rng)]
                    let scalar = Unicode.Scalar(value) ?? "x"
                    scalars.insert(scalar, at: scalars.isEmpty ? 0 : Int.random(in: 0...scalars.count, using: &rng))
                }
                lines[i] = String(String.UnicodeScalarView(scalars))
            case 5:                                                       // truncation
                let joined = lines.joined(separator: "\n")
                let cut = Int.random(in: 0...joined.count, using: &rng)
                lines = String(joined.prefix(cut)).components(separatedBy: "\n")
            default:                                                      // swapped lines
                let j = Int.random(in: 0..<lines.count, using: &rng)
                lines.swapAt(i, j)
            }
        }
        return lines.joined(separator: "\n")
    }

    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    @Test("10,000 mutated runbooks and environments: no crash, no hang, every error positioned")
    func mutations() async throws {
        let loader = Loader(root: Repo.root)
        let sources = try ["Runbooks", "Environments"].flatMap { folder in
            try FileManager.default.contentsOfDirectory(atPath: Repo.root + "/" + folder)
                .filter { $0.hasSuffix(".yml") }.sorted()
                .map { try String(contentsOfFile: Repo.root + "/\(folder)/\($0)", encoding: .utf8) }
        }
        #expect(sources.count >= 7)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("marshal-mutants-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        var rng = SplitMix64(state: 20261124)
        var failures = 0, slowest = 0.0
        let total = 10_000
        for n in 0..<total {
            let mutant = Self.mutate(sources[n % sources.count], using: &rng)
            let path = "\(dir)/mutant-\(n % 50).yml"
            TestFile.write(mutant, to: path)  // without an fsync per mutant
            // A long loop on the pool: let other tests' tasks run between mutants.
            if n % 20 == 0 { await Task.yield() }
            // This thread's CPU time, not the wall clock: a runaway parse burns CPU, while a wall
            // clock also counts the time a loaded machine (or a debugger attaching) stops the thread.
            let start = Self.threadCPUSeconds()
            let diagnostics = loader.validate(paths: [path], environmentPath: nil)
            slowest = max(slowest, Self.threadCPUSeconds() - start)
            if !diagnostics.isEmpty { failures += 1 }
            for diagnostic in diagnostics {
                #expect(diagnostic.location.line >= 1 && diagnostic.location.column >= 1,
                        "mutant \(n) gave an unpositioned diagnostic: \(diagnostic)")
                #expect(!diagnostic.message.isEmpty)
            }
        }
        // Most mutants break something; a handful (e.g. a duplicated comment) stay valid.
        #expect(failures > total / 2)
        #expect(slowest < 2.0, "one file took \(slowest) s of CPU to load: a hang in the making")
    }
}
