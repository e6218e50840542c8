import Foundation
import MarshalCore
import Testing

@Suite("Output excerpts")
struct ExcerptTests {
    @Test("output that fits is kept whole")
    func fits() {
        let text = String(repeating: "line\n", count: 10)
        #expect(OutputExcerpt.make(bytes: Array(text.utf8), head: 40, tail: 10) == text)
        #expect(OutputExcerpt.make(bytes: [], head: 4, tail: 4) == "")
    }

    @Test("long output keeps its head and tail and counts what was dropped")
    func bounded() {
        let bytes = Array(String(repeating: "a", count: 5000).utf8) + Array(String(repeating: "z", count: 5000).utf8)
        let excerpt = OutputExcerpt.make(bytes: bytes)
        #expect(excerpt == String(repeating: "a", count: 4096) + "\n… 1808 bytes omitted …\n" + String(repeating: "z", count: 4096))
        #expect(OutputExcerpt.make(bytes: Array("0123456789".utf8), head: 3, tail: 2) == "012\n… 5 bytes omitted …\n89")
    }

    @Test("a cut never splits a UTF-8 character")
    func utf8Boundaries() {
        // "é" is 2 bytes, "€" 3, "😀" 4: every cut position below lands inside one of them.
        let text = "ab" + String(repeating: "é€😀", count: 20) + "yz"
        let bytes = Array(text.utf8)
        for head in 0...12 {
            for tail in 0...12 {
                let excerpt = OutputExcerpt.make(bytes: bytes, head: head, tail: tail)
                #expect(!excerpt.contains("\u{FFFD}"), "head \(head) tail \(tail): \(excerpt)")
                let parts = excerpt.components(separatedBy: "\n… ")
                #expect(parts.count == 2)
                #expect(text.hasPrefix(parts[0]))
                let omitted = Int(parts[1].split(separator: " ")[0]) ?? -1
                let kept = parts[0].utf8.count + (parts[1].components(separatedBy: "omitted …\n").last ?? "").utf8.count
                #expect(kept + omitted == bytes.count)
            }
        }
    }

    @Test("binary output full of continuation bytes is still cut at the requested sizes")
    func binary() {
        let bytes = [UInt8](repeating: 0x80, count: 100)
        let excerpt = OutputExcerpt.make(bytes: bytes, head: 10, tail: 10)
        #expect(excerpt.contains("… 80 bytes omitted …"))
    }
}

@Suite("Run ids")
struct RunIDTests {
    @Test("run ids are the UTC start second plus 4 hex digits, and sort by time")
    func format() {
        let date = Date(timeIntervalSince1970: 1_795_836_901)  // 2026-11-28 03:35:01 UTC
        #expect(RunID.make(startedAt: date, random: 0xa1b2) == "20261128-033501-a1b2")
        #expect(RunID.make(startedAt: date, random: 0x000f) == "20261128-033501-000f")
        #expect(RunID.make(startedAt: date, random: 0xffff) < RunID.make(startedAt: date + 1, random: 0))
    }

    @Test("the machine is what follows the last @ of an operator name")
    func operatorMachine() {
        #expect(OperatorName.machine(of: "deploy@ci-7") == "ci-7")
        #expect(OperatorName.machine(of: "a@b@c") == "c")
        #expect(OperatorName.machine(of: "ci-7") == "ci-7")
    }
}
