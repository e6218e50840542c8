import Foundation

/// The crash tests' fault injection: `MARSHAL_TEST_CRASH_AT=POINT` makes Marshal kill itself with
/// SIGKILL (no cleanup, no journal flush: a real crash) when the run reaches POINT. POINT is one
/// the orchestrator names (`main:started:migrate@db1`, `undo:finished:ship@web2`, `rollback:begin`)
/// or such a name without its `@host` (the first host to get there). `MARSHAL_TEST_CRASH_AT_SKIP=N`
/// lets the first N matches pass (the N+1th kills).
enum CrashPoint {
    static func hook(environment: [String: String] = ProcessInfo.processInfo.environment) -> (@Sendable (String) -> Void)? {
        guard let target = environment["MARSHAL_TEST_CRASH_AT"], !target.isEmpty else { return nil }
        let skip = Int(environment["MARSHAL_TEST_CRASH_AT_SKIP"] ?? "") ?? 0
        let seen = Counter()
        return { point in
            guard point == target || point.hasPrefix(target + "@") else { return }
            if seen.next() > skip { kill(getpid(), SIGKILL) }
        }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func next() -> Int { lock.withLock { count += 1; return count } }
    }
}
