/// The redis gate with `on:`: the commands go to `redis-cli` on that host (for a server only it
/// can reach), one per line on stdin; the password travels in redis-cli's environment
/// (REDISCLI_AUTH, read from Marshal's stdin by the shell), never in an argument list.
struct RedisCLIClient: RedisClient {
    var executor: any RemoteExecutor

    func execute(_ commands: [[String]], at endpoint: RedisEndpoint, timeout: Duration) async throws(RedisError) -> [RedisReply] {
        try await replies(commands, at: endpoint, timeout: timeout).get()
    }

    /// Kept as plain Results: typed throws across this await crashed the Swift 6.3 optimizer
    /// (ownership verifier) in release builds, as RemoteCommand notes for its own call.
    private func replies(_ commands: [[String]], at endpoint: RedisEndpoint, timeout: Duration) async -> Result<[RedisReply], RedisError> {
        let attempt = await RemoteCommand.attempt(Self.command(commands, at: endpoint), on: executor, timeout: timeout)
        switch attempt {
        case .failure(let error):
            return .failure(.connect(endpoint: endpoint.display, reason: error.description))
        case .success(let result):
            let stderr = result.stderrText.split(separator: "\n").last.map(String.init) ?? ""
            guard result.exitStatus == 0 else {
                return .failure(.connect(endpoint: endpoint.display, reason: "redis-cli exited with \(result.exitStatus.map(String.init) ?? "a signal")\(stderr.isEmpty ? "" : ": \(stderr)")"))
            }
            return Result { () throws(RedisError) -> [RedisReply] in
                try Self.parse(result.stdoutText, count: commands.count, endpoint: endpoint, stderr: stderr)
            }
        }
    }

    /// `REDISCLI_AUTH="$secret" redis-cli --no-raw -h HOST -p PORT -n DB`, the commands on stdin.
    static func command(_ commands: [[String]], at endpoint: RedisEndpoint) -> ShellCommand {
        var fragments: [ShellCommand.Fragment] = []
        if let password = endpoint.password { fragments += [.literal("REDISCLI_AUTH="), .secret(password), .literal(" ")] }
        fragments += [.literal("redis-cli --no-raw -h "), .quoted(endpoint.host), .literal(" -p \(endpoint.port) -n \(endpoint.database)")]
        if let user = endpoint.username { fragments += [.literal(" --user "), .quoted(user)] }
        let script = commands.map { $0.map(quote).joined(separator: " ") }.joined(separator: "\n") + "\n"
        return ShellCommand(fragments, input: [.quoted(script)])
    }

    /// An argument as redis-cli splits its input lines (sdssplitargs): double-quoted, `\"` and `\\` escaped.
    static func quote(_ argument: String) -> String {
        var out = "\""
        for ch in argument.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if ch.value < 0x20 || ch.value == 0x7f {
                    out += "\\x" + String(ch.value, radix: 16).leftPadded(to: 2)
                } else {
                    out.unicodeScalars.append(ch)
                }
            }
        }
        return out + "\""
    }

    /// redis-cli's `--no-raw` lines: one per reply (`(integer) 3`, `(nil)`, `"text"`, `(error) …`,
    /// `OK`), except INFO's, which it prints verbatim: the last command is INFO, so its reply is
    /// every line after the others'.
    static func parse(_ text: String, count: Int, endpoint: RedisEndpoint, stderr: String) throws(RedisError) -> [RedisReply] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        guard count > 0 else { return [] }
        guard lines.count >= count else {
            throw .connect(endpoint: endpoint.display, reason: stderr.isEmpty ? "redis-cli printed \(lines.count) lines for \(count) commands" : stderr)
        }
        var replies: [RedisReply] = []
        for line in lines.prefix(count - 1) { replies.append(try reply(line, endpoint: endpoint, stderr: stderr)) }
        let rest = lines.dropFirst(count - 1)
        if let first = rest.first, first.hasPrefix("(error) ") {
            replies.append(try reply(first, endpoint: endpoint, stderr: stderr))
        } else {
            replies.append(.bulk(Array(rest.joined(separator: "\r\n").utf8)))
        }
        return replies
    }

    static func reply(_ line: String, endpoint: RedisEndpoint, stderr: String) throws(RedisError) -> RedisReply {
        if line == "(nil)" { return .bulk(nil) }
        if line.hasPrefix("(integer) "), let n = Int64(line.dropFirst(10)) { return .integer(n) }
        if line.hasPrefix("(error) ") {
            let message = String(line.dropFirst(8))
            // NOAUTH and WRONGPASS are Redis' error codes (the reply's first word) for a refused password.
            let code = message.split(separator: " ").first.map(String.init) ?? ""
            if code == "NOAUTH" || code == "WRONGPASS" { throw .auth(endpoint: endpoint.display, reply: stderr.isEmpty ? message : stderr) }
            return .error(message)
        }
        if line.hasPrefix("\""), line.hasSuffix("\""), line.count >= 2 { return .bulk(unquote(String(line.dropFirst().dropLast()))) }
        return .simple(line)
    }

    /// The escapes redis-cli writes inside a quoted string: `\\ \" \n \r \t \a \b` and `\xHH`.
    static func unquote(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let byte = bytes.popFirst() {
            guard byte == UInt8(ascii: "\\"), let next = bytes.popFirst() else { out.append(byte); continue }
            switch next {
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "a"): out.append(7)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "x"):
                let hex = String(decoding: bytes.prefix(2), as: UTF8.self)
                if let value = UInt8(hex, radix: 16) { out.append(value); bytes = bytes.dropFirst(2) } else { out.append(next) }
            default: out.append(next)
            }
        }
        return out
    }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
