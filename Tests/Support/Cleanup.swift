import Foundation

/// Work that must finish before the test process exits but must not hold a thread of the
/// cooperative pool meanwhile: stopping a lab from a `deinit`, which cannot await.
///
/// Blocking there once held both of the pool's threads (2 on a 2-core machine) for up to 32 s
/// (two labs starting, later two labs stopping), and every other test's timers ran that late.
/// Each piece runs on its own thread; the process waits for all of them at exit.
public enum Cleanup {
    private static let pending = DispatchGroup()
    private static let waitAtExit: Void = {
        atexit {
            _ = Cleanup.pending.wait(timeout: .now() + 120)
        }
    }()

    public static func inBackground(_ body: @escaping @Sendable () -> Void) {
        _ = waitAtExit
        pending.enter()
        Thread {
            body()
            pending.leave()
        }.start()
    }
}
