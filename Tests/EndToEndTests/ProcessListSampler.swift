import Foundation

/// Reads every /proc/*/cmdline over and over on its own thread, as any local user of a host can,
/// and keeps each distinct command line seen (NULs shown as spaces). Bounded by `limit`.
final class ProcessListSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: Set<String> = []
    private var running = true
    private(set) var sweeps = 0
    private let thread: Thread

    init(limit: TimeInterval = 300) {
        let box = Box()
        thread = Thread { box.sampler?.loop(until: Date().addingTimeInterval(limit)) }
        box.sampler = self
        thread.start()
    }

    private final class Box: @unchecked Sendable { weak var sampler: ProcessListSampler? }

    private func loop(until deadline: Date) {
        while Date() < deadline {
            lock.lock()
            let go = running
            lock.unlock()
            guard go else { return }
            var seen: [String] = []
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where entry.first?.isNumber == true {
                guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !data.isEmpty else { continue }
                seen.append(String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self))
            }
            lock.lock()
            lines.formUnion(seen)
            sweeps += 1
            lock.unlock()
        }
    }

    /// Stops sampling and returns every command line seen.
    func stop() -> Set<String> {
        lock.lock()
        running = false
        let result = lines
        lock.unlock()
        return result
    }
}
