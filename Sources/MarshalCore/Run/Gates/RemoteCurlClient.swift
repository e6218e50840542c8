import Foundation

/// An `HTTPClient` that sends the request from a host, with that host's `curl`, so a check with
/// `on:` sees what the host sees (a service bound to the host's loopback, its DNS, its firewall).
package struct RemoteCurlClient: HTTPClient {
    var executor: any RemoteExecutor
    static let marker = "__MARSHAL_CURL__"

    package init(executor: any RemoteExecutor) { self.executor = executor }

    package func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        // URL, headers and body may carry a token: they reach curl as its config on stdin
        // (`-K -`), never as arguments, which every user of the host can read in /proc.
        var config = "url = \(Self.configQuoted(request.url))\n"
        for (name, value) in request.headers { config += "header = \(Self.configQuoted("\(name): \(value)"))\n" }
        if !request.body.isEmpty { config += "data-raw = \(Self.configQuoted(String(decoding: request.body, as: UTF8.self)))\n" }
        var fragments: [ShellCommand.Fragment] = [
            .literal("curl -K - -sS -i --max-time \(max(1, Int(request.timeout.seconds.rounded(.up)))) --connect-timeout \(max(1, Int(request.connectTimeout.seconds.rounded(.up)))) -X "),
            .quoted(request.method)]
        if request.insecure { fragments.append(.literal(" -k")) }
        fragments.append(.literal(" -w '\\n\(Self.marker)%{http_code} %{time_total} %{time_connect} %{time_starttransfer}'"))
        let command = ShellCommand(fragments, input: [.secret(Secret(name: "curl config", value: config))])
        let result: CommandResult
        do {
            result = try await executor.run(command, timeout: request.timeout + .seconds(5))
        } catch {
            throw .other(url: URLMask.display(request.url), code: -1, message: "on \(executor.hostName): \(error.description)")
        }
        let text = result.stdoutText
        guard let range = text.range(of: "\n" + Self.marker, options: .backwards) else {
            let reason = result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw .connect(url: URLMask.display(request.url), reason: "curl on \(executor.hostName): \(reason.isEmpty ? "exit \(result.exitStatus ?? -1)" : reason)")
        }
        let numbers = text[range.upperBound...].split(separator: " ").map { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 }
        let status = Int(numbers.first ?? 0)
        if status == 0 {
            throw .connect(url: URLMask.display(request.url), reason: "curl on \(executor.hostName): \(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        // With -i, header blocks (one per 1xx or redirect) come first; the body follows the last.
        var rest = Substring(text[..<range.lowerBound])
        var headers: [(name: String, value: String)] = []
        while rest.hasPrefix("HTTP/"), let end = rest.range(of: "\r\n\r\n") {
            headers = rest[..<end.lowerBound].split(separator: "\r\n").dropFirst().compactMap { line in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            rest = rest[end.upperBound...]
        }
        func seconds(_ i: Int) -> Duration { .milliseconds(Int64((numbers.count > i ? numbers[i] : 0) * 1000)) }
        return HTTPResponse(status: status, headers: headers, body: Array(rest.utf8),
                            timings: HTTPTimings(total: seconds(1), connect: seconds(2), ttfb: seconds(3)))
    }

    /// A curl config file string: double-quoted, with `\\`, `\"` and control characters escaped
    /// (curl's config parser reads `\\ \" \t \n \r \v`).
    static func configQuoted(_ text: String) -> String { configEscapes.apply(text, quote: "\"") }
    static let configEscapes = EscapeTable(["\\": "\\\\", "\"": "\\\"", "\n": "\\n", "\r": "\\r", "\t": "\\t"])
}
