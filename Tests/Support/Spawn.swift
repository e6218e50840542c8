import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs child processes for tests with posix_spawn and waitpid on their own PID.
///
/// Foundation's `Process` was seen to hang in `waitUntilExit` under the parallel test runner here
/// (children left as zombies, never reaped), so tests do not use it. Output goes to temporary
/// files, not pipes, so a daemon that inherits them cannot keep a reader waiting; the child gets
/// an empty signal mask and default handlers, whatever the test runner's threads block.
public enum Spawn {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var timedOut: Bool
    }

    public enum Failure: Error, CustomStringConvertible {
        case spawn(String, Int32)
        public var description: String {
            switch self {
            case .spawn(let path, let code): "cannot start \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    /// Runs to the end (or `timeout`, then SIGKILL) and returns its exit status and output.
    public static func run(_ arguments: [String], environment: [String: String]? = nil, cwd: String? = nil,
                           timeout: TimeInterval = 180) throws -> Result {
        let files = OutputFiles()
        let pid = try start(arguments, environment: environment, cwd: cwd, stdout: files.out, stderr: files.err)
        return files.result(pid: pid, status: wait(pid, timeout: timeout))
    }

    /// Like `run`, but waits by polling with `Task.sleep`, so a long child does not hold one of the
    /// cooperative pool's few threads (2 on a 2-core machine) and stall every other test.
    public static func runAsync(_ arguments: [String], environment: [String: String]? = nil, cwd: String? = nil,
                                timeout: TimeInterval = 180) async throws -> Result {
        let files = OutputFiles()
        let pid = try start(arguments, environment: environment, cwd: cwd, stdout: files.out, stderr: files.err)
        return files.result(pid: pid, status: await waitAsync(pid, timeout: timeout))
    }

    /// Where a child's stdout and stderr go; removed once read.
    private struct OutputFiles {
        let base = NSTemporaryDirectory() + "marshal-spawn-\(UUID().uuidString)"
        var out: String { base + ".out" }
        var err: String { base + ".err" }

        /// Kills a child that ran out of time, then reads and removes its output.
        func result(pid: pid_t, status: Int32?) -> Result {
            if status == nil {
                kill(pid, SIGKILL)
                _ = Spawn.wait(pid, timeout: 5)
            }
            defer {
                unlink(out)
                unlink(err)
            }
            let stdout = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
            return Result(status: status ?? -1, stdout: stdout, stderr: stderr, timedOut: status == nil)
        }
    }

    /// `wait` that sleeps between polls instead of blocking the thread.
    public static func waitAsync(_ pid: pid_t, timeout: TimeInterval) async -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let status = wait(pid, timeout: 0) { return status }
            if Date() >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Starts a child and returns its PID; stdout/stderr go to the given files (or /dev/null).
    public static func start(_ arguments: [String], environment: [String: String]? = nil, cwd: String? = nil,
                             stdout: String? = nil, stderr: String? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        // posix_spawn_file_actions_addchdir_np is not visible from Swift's Glibc module: a shell
        // changes directory and then execs the program.
        let arguments = cwd.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0] + arguments } ?? arguments
        var env = ProcessInfo.processInfo.environment
        if let environment { env.merge(environment) { _, new in new } }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard code == 0 else { throw Failure.spawn(arguments[0], code) }
        return pid
    }

    /// Waits for `pid` to exit, polling so that a missed SIGCHLD cannot hang a test. Returns the
    /// exit status (128 + signal when killed), or nil if it still runs after `timeout`.
    public static func wait(_ pid: pid_t, timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let signal = status & 0x7f
                return signal == 0 ? (status >> 8) & 0xff : 128 + signal
            }
            if result < 0 && errno != EINTR { return -1 }
            if Date() >= deadline { return nil }
            usleep(5_000)
        }
    }
}

/// A child started with `Spawn`, whose exit status is collected at most once, so stopping one
/// that already ended can never signal a reused PID.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?

    public init(_ arguments: [String], environment: [String: String]? = nil, stdout: String? = nil, stderr: String? = nil) throws {
        pid = try Spawn.start(arguments, environment: environment, stdout: stdout, stderr: stderr)
    }

    /// Its exit status once it has ended (128 + signal if killed), nil while it runs.
    public func poll() -> Int32? {
        lock.withLock {
            if status == nil { status = Spawn.wait(pid, timeout: 0) }
            return status
        }
    }

    /// Waits with `Task.sleep` between polls; nil if it still runs after `seconds`.
    public func exit(within seconds: Double) async -> Int32? {
        let deadline = Date() + seconds
        while true {
            if let status = poll() { return status }
            if Date() >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// TERM, then KILL after two seconds (children get default signal handling from Spawn).
    public func stop() {
        guard poll() == nil else { return }
        Glibc.kill(pid, SIGTERM)
        let deadline = Date() + 2
        while poll() == nil && Date() < deadline { usleep(10_000) }
        kill()
    }

    /// SIGKILL and reap, unless it has already ended.
    public func kill() {
        lock.withLock {
            if status == nil { status = Spawn.wait(pid, timeout: 0) }
            guard status == nil else { return }
            Glibc.kill(pid, SIGKILL)
            status = Spawn.wait(pid, timeout: 5)
        }
    }
}
