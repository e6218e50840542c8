import Foundation
import MarshalCore

enum LocalProcess {
    /// The most stdin a command gets: what a pipe can hold once enlarged (Linux's default
    /// pipe-max-size), so it is written whole before the child starts and no writer has to wait.
    static let inputLimit = 1024 * 1024

    static func run(_ command: String, input: [UInt8] = [], timeout: Duration?, host: String) throws(TransportError) -> CommandResult {
        let start = ContinuousClock.now
        let stdinRead = try inputPipe(input, host: host)
        defer { close(stdinRead) }
        var stdoutPipe: [Int32] = [-1, -1]
        var stderrPipe: [Int32] = [-1, -1]
        // Close-on-exec (dup2 onto 1 and 2 clears it for this command's own child): a command that
        // another thread starts meanwhile, or a daemon it leaves behind, would otherwise hold these
        // write ends open, and this command's output would not end until that process did.
        guard closeOnExecPipe(&stdoutPipe) else { throw .channelFailed(host: host, reason: "pipe: \(describeErrno(errno))") }
        guard closeOnExecPipe(&stderrPipe) else {
            close(stdoutPipe[0]); close(stdoutPipe[1])
            throw .channelFailed(host: host, reason: "pipe: \(describeErrno(errno))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinRead, 0)
        posix_spawn_file_actions_addclose(&actions, stdinRead)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        for fd in [stdoutPipe[0], stdoutPipe[1], stderrPipe[0], stderrPipe[1]] {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, so a timeout can signal everything the command started.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        var pid: pid_t = 0
        let argv: [String] = ["/bin/sh", "-c", command]
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        let spawned = spawning.withLock { posix_spawn(&pid, "/bin/sh", &actions, &attributes, &cArguments, environ) }
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard spawned == 0 else {
            close(stdoutPipe[0]); close(stderrPipe[0])
            throw .channelFailed(host: host, reason: "cannot start /bin/sh: \(describeErrno(spawned))")
        }
        defer { close(stdoutPipe[0]); close(stderrPipe[0]) }

        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        let deadline = timeout.map { start + $0 }
        var timedOut = false
        var killDeadline: ContinuousClock.Instant?
        var open = [true, true]
        let fds = [stdoutPipe[0], stderrPipe[0]]
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        // Both pipes are read in one poll loop, so neither can fill up and stall the child.
        while open[0] || open[1] {
            var pollfds = fds.enumerated().map { pollfd(fd: open[$0.offset] ? $0.element : -1, events: Int16(POLLIN), revents: 0) }
            var wait: Int32 = -1
            let now = ContinuousClock.now
            if let killDeadline {
                if now >= killDeadline { break }  // something escaped the group and holds the pipes
                wait = Int32(max(1, (killDeadline - now).milliseconds))
            } else if let deadline {
                if now >= deadline {
                    timedOut = true
                    stopGroup(pid)
                    killDeadline = now + .seconds(2)
                    continue
                }
                wait = Int32(max(1, (deadline - now).milliseconds))
            }
            let ready = poll(&pollfds, 2, wait)
            if ready < 0 && errno != EINTR { break }
            for index in 0..<2 where open[index] && pollfds[index].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(fds[index], $0.baseAddress, $0.count) }
                if n > 0 {
                    if index == 0 { stdout += buffer[0..<n] } else { stderr += buffer[0..<n] }
                } else if n == 0 || errno != EINTR {
                    open[index] = false
                }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let duration = ContinuousClock.now - start
        if timedOut {
            var result = CommandResult(stdout: stdout, stderr: stderr, ending: .timedOut, duration: duration)
            // Confirmed only when nothing of its group still runs and nothing holds its output: a
            // process it started that left the group (setsid, a daemon) still runs.
            result.stopConfirmed = !open.contains(true) && !groupRunning(pid)
            return result
        }
        let signal = status & 0x7f
        if signal != 0 && signal != 0x7f {
            return CommandResult(stdout: stdout, stderr: stderr, ending: .signalled(signalName(signal)), duration: duration)
        }
        return CommandResult(stdout: stdout, stderr: stderr, ending: .exited((status >> 8) & 0xff), duration: duration)
    }

    /// A pipe holding all of `input`, its write end closed: the read end becomes the command's stdin
    /// (secrets and scripts reach the command there, never in its arguments).
    private static func inputPipe(_ input: [UInt8], host: String) throws(TransportError) -> Int32 {
        guard input.count <= inputLimit else {
            throw .channelFailed(host: host, reason: "the command's input is \(input.count) bytes; at most \(inputLimit) can be passed")
        }
        var fds: [Int32] = [-1, -1]
        // Not inherited by commands other threads start meanwhile (dup2 onto stdin clears the flag).
        guard closeOnExecPipe(&fds) else { throw .channelFailed(host: host, reason: "pipe: \(describeErrno(errno))") }
        let setPipeSize: Int32 = 1031  // F_SETPIPE_SZ (linux/fcntl.h), not exported to Swift
        if input.count > 60 * 1024 { _ = fcntl(fds[1], setPipeSize, Int32(inputLimit)) }
        var offset = 0
        while offset < input.count {
            let n = input.withUnsafeBytes { write(fds[1], $0.baseAddress! + offset, input.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = describeErrno(errno)
                close(fds[0]); close(fds[1])
                throw .channelFailed(host: host, reason: "writing the command's input: \(reason)")
            }
            offset += n
        }
        close(fds[1])
        return fds[0]
    }

    /// Held while a pipe is made and marked close-on-exec, and while a command is spawned, so no
    /// spawn sees a pipe in between (Swift's Glibc has no `pipe2`). This is the only place Marshal
    /// starts processes.
    private static let spawning = NSLock()

    /// A pipe whose ends no other command inherits.
    private static func closeOnExecPipe(_ fds: inout [Int32]) -> Bool {
        spawning.withLock {
            guard pipe(&fds) == 0 else { return false }
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            return true
        }
    }

    /// Whether a process of group `pgid` still runs. A zombie does not: a member orphaned by the
    /// stop waits for init to reap it, and `kill(-pgid, 0)` still counts it (every timeout was
    /// reported as "could not be confirmed" where init reaps slowly).
    private static func groupRunning(_ pgid: pid_t) -> Bool {
        if kill(-pgid, 0) != 0 { return errno != ESRCH }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return true }
        for entry in entries where entry.first?.isNumber == true {
            // /proc/PID/stat: "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let end = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            if fields.count > 2, fields[2] == "\(pgid)", fields[0] != "Z" { return true }
        }
        return false
    }

    /// TERM to the whole group, KILL a second later for whatever ignored it.
    private static func stopGroup(_ pid: pid_t) {
        kill(-pid, SIGTERM)
        let group = pid
        let thread = Thread {
            Thread.sleep(forTimeInterval: 1)
            kill(-group, SIGKILL)
        }
        thread.start()
    }

    private static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGHUP: "HUP"
        case SIGINT: "INT"
        case SIGQUIT: "QUIT"
        case SIGABRT: "ABRT"
        case SIGKILL: "KILL"
        case SIGSEGV: "SEGV"
        case SIGPIPE: "PIPE"
        case SIGTERM: "TERM"
        default: "SIG\(signal)"
        }
    }

    /// Copies through a temporary name in the target directory, checks the copy's sha256 against
    /// the source's, then renames it into place.
    static func copy(from source: String, to destination: String, mode: Int32, host: String) throws(TransportError) -> UploadResult {
        let start = ContinuousClock.now
        let temporary = destination + ".marshal-tmp-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let fileManager = FileManager.default
        do {
            let expected = try sha256OfFile(atPath: source)
            try? fileManager.removeItem(atPath: temporary)
            try fileManager.copyItem(atPath: source, toPath: temporary)
            guard chmod(temporary, mode_t(mode)) == 0 else {
                throw TransportError.uploadFailed(host: host, path: destination, reason: "chmod: \(describeErrno(errno))")
            }
            let actual = try sha256OfFile(atPath: temporary)
            guard actual.hex == expected.hex else {
                try? fileManager.removeItem(atPath: temporary)
                throw TransportError.checksumMismatch(host: host, path: destination, expected: expected.hex, actual: actual.hex)
            }
            guard rename(temporary, destination) == 0 else {
                throw TransportError.uploadFailed(host: host, path: destination, reason: "rename: \(describeErrno(errno))")
            }
            return UploadResult(bytes: actual.bytes, sha256: actual.hex, duration: ContinuousClock.now - start)
        } catch let error as TransportError {
            try? fileManager.removeItem(atPath: temporary)
            throw error
        } catch {
            try? fileManager.removeItem(atPath: temporary)
            throw .uploadFailed(host: host, path: destination, reason: error.localizedDescription)
        }
    }
}
