import Foundation

/// The crash tests' fault injection: `MARSHAL_TEST_CRASH_AT=POINT` makes Marshal kill itself with
/// SIGKILL (no cleanup, no journal flush: a real crash) when the run reaches POINT. POINT is one
/// the orchestrator names (`main:started:migrate@db1`, `undo:finished:ship@web2`, `rollback:begin`)
/// or such a name without its `@host` (the first host to get there). `MARSHAL_TEST_CRASH_AT_SKIP=N`
/// lets the first N matches pass (the N+1th kills). `POINT+SECONDS` kills that long after the
/// point is reached, while the step's command runs on the host (mid-step, mid-undo).
enum CrashPoint {
    static func hook(environment: [String: String] = ProcessInfo.processInfo.environment) -> (@Sendable (String) -> Void)? {
        guard var target = environment["MARSHAL_TEST_CRASH_AT"], !target.isEmpty else { return nil }
        var delay: Double?
        if let plus = target.lastIndex(of: "+"), let seconds = Double(target[target.index(after: plus)...]) {
            delay = seconds
            target = String(target[..<plus])
        }
        let skip = Int(environment["MARSHAL_TEST_CRASH_AT_SKIP"] ?? "") ?? 0
        let seen = Counter()
        return { [target, delay] point in
            guard point == target || point.hasPrefix(target + "@") else { return }
            guard seen.next() > skip else { return }
            guard let delay else { kill(getpid(), SIGKILL); return }
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: delay)
                kill(getpid(), SIGKILL)
            }
        }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func next() -> Int { lock.withLock { count += 1; return count } }
    }
}
