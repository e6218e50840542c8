import ArgumentParser
import Foundation
import MarshalCore
import MarshalHTTP
import MarshalReport

extension MarshalCommand {
    /// `marshal bench URL`: load one URL closed loop (like wrk) or open loop at a fixed rate, and
    /// check thresholds against what was measured.
    struct Bench: AsyncParsableCommand, AnswersInFormat {
        static let configuration = CommandConfiguration(
            abstract: "Load-test one URL and check latency and error thresholds.",
            discussion: """
                Closed loop (default, or -c N alone): N connections send back to back, like wrk.

                Virtual users (--users N): N users each send a request, wait for the answer, think for \
                --think-time (default 1s) and send again, each on its own connection (k6's constant VUs); \
                --ramp-up spreads their starts.

                Open loop (--rate R): requests start at R per second whatever the server does, and latency is \
                measured from each request's planned start, so stalls are not hidden (coordinated omission). \
                There -c caps the connections, and requests due while --max-in-flight are pending are dropped and counted.

                Thresholds may name p50 p75 p90 p95 p99 max min avg rps error_rate requests errors dropped, \
                e.g. --threshold 'p95 < 500ms' --threshold 'error_rate < 1%'.

                Exit 0 when every threshold holds, 1 when one fails, 2 on bad input, 3 when the test could not start.
                """
        )

        @Argument(help: "http:// or https:// URL to load.")
        var url: String

        @Option(name: .customShort("c"), help: "Connections (closed loop: default 10; open loop: connection cap).")
        var connections: Int?

        @OptionGroup(title: "Open loop") var openLoop: OpenLoopOptions
        @OptionGroup(title: "Virtual users") var virtualUsers: VirtualUserOptions

        @Option(name: .shortAndLong, help: "How long to send, e.g. 30s, 2m.")
        var duration: String = "30s"

        @Option(help: "Worker threads.")
        var threads: Int = 2

        @Option(help: "A condition on the results, e.g. 'p95 < 500ms'. Repeatable.")
        var threshold: [String] = []

        @Option(help: "Per-request timeout.")
        var timeout: String = "10s"

        @Option(name: [.customShort("H"), .customLong("header")], help: "Request header 'Name: value'. Repeatable.")
        var headers: [String] = []

        @Option(help: "HTTP method.")
        var method: String = "GET"

        @Flag(help: "Skip TLS certificate verification (test hosts only).")
        var insecure = false

        @OptionGroup var outputOptions: OutputOptions

        @Option(help: "Write the thresholds' verdicts as JUnit XML to this file (for CI).", completion: .file())
        var junit: String?

        func validate() throws {
            try DocumentOptions(junit: junit).validate()
        }

        func run() async throws {
            let plan: LoadPlan
            let conditions: [MarshalExpression]
            do {
                (plan, conditions) = try build()
            } catch {
                Terminal.stderr("error: \(error)")
                throw ExitCode.invalidInput
            }
            let result: LoadResult
            let startedAt = Date()
            do {
                result = try await CurlLoadGenerator().run(plan)
            } catch {
                Terminal.stderr("error: \(error)")
                if case .invalidPlan = error { throw ExitCode.invalidInput }
                throw ExitCode.couldNotStart
            }
            let scope = DictionaryScope(result.metrics.mapValues { ExprValue.number($0) })
            let checks = conditions.map { condition in
                ThresholdCheck(threshold: condition.source, passed: (try? condition.test(in: scope)) ?? false,
                               explanation: condition.explain(in: scope))
            }
            switch output {
            case .json:
                Terminal.stdout(try JSONOutput.encode(BenchReport(url: URLMask.display(url), result: result, thresholds: checks)))
            case .text:
                Terminal.stdout(quoting: BenchSummary(url: URLMask.display(url), plan: plan, result: result, checks: checks).text)
            }
            if let junit {
                let xml = JUnitReport.render(benchOf: URLMask.display(url), startedAt: startedAt, seconds: result.duration,
                                             thresholds: checks.map { ($0.threshold, $0.passed, $0.explanation) })
                try xml.write(toFile: junit, atomically: true, encoding: .utf8)
            }
            if checks.contains(where: { !$0.passed }) { throw ExitCode.stepFailed }
        }

        struct InputError: Error, CustomStringConvertible {
            let description: String
        }

        private func build() throws -> (LoadPlan, [MarshalExpression]) {
            guard let runFor = DurationText.parse(duration), runFor > .zero else {
                throw InputError(description: "--duration \(duration) is not a duration such as 30s or 2m")
            }
            guard let perRequest = DurationText.parse(timeout), perRequest > .zero else {
                throw InputError(description: "--timeout \(timeout) is not a duration such as 10s or 500ms")
            }
            var parsedHeaders: [(name: String, value: String)] = []
            for header in headers {
                guard let colon = header.firstIndex(of: ":"), colon != header.startIndex else {
                    throw InputError(description: "--header \(header) is not 'Name: value'")
                }
                parsedHeaders.append((String(header[..<colon]).trimmingCharacters(in: .whitespaces),
                                      String(header[header.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
            }
            let mode: LoadPlan.Mode
            let rate = openLoop.rate
            if rate != nil && virtualUsers.users != nil {
                throw InputError(description: "--rate (open loop) and --users (virtual users) are different modes; give one")
            }
            if let users = try virtualUsers.plan(duration: runFor) {
                mode = .users(users)
            } else if let rate {
                mode = .openLoop(phases: [LoadPlan.Phase(duration: runFor, rate: rate)])
            } else {
                mode = .closedLoop(connections: connections ?? 10, duration: runFor)
            }
            let plan = LoadPlan(
                baseURL: url, mode: mode, threads: threads,
                scenarios: [LoadPlan.Scenario(name: "default", method: method, headers: parsedHeaders)],
                maxInFlight: openLoop.maxInFlight, connections: rate == nil ? nil : connections, timeout: perRequest, insecure: insecure)
            let problems = plan.problems()
            guard problems.isEmpty else { throw InputError(description: problems.joined(separator: "; ")) }
            var conditions: [MarshalExpression] = []
            for (i, text) in threshold.enumerated() {
                do {
                    let location = SourceLocation(file: "--threshold #\(i + 1)", line: 1, column: 1)
                    conditions.append(try MarshalExpression.parse(text, at: location))
                    if let unknown = MarshalExpression.unknownName(in: text, at: location, isKnown: { name in
                        LoadStats.metricNames.contains(name) || LoadStats.metricNames.contains { name == "default.\($0)" }
                    }) {
                        throw InputError(description: "\(unknown.location): '\(unknown.name)' in '\(text)' is not a metric; expected one of: \(LoadStats.metricNames.joined(separator: ", "))")
                    }
                } catch let error as InputError {
                    throw error
                } catch {
                    throw InputError(description: "\(error)")
                }
            }
            return (plan, conditions)
        }
    }
}

/// One threshold's verdict, e.g. `p95 = 612ms; expected p95 < 500ms`.
struct ThresholdCheck: Encodable {
    var threshold: String
    var passed: Bool
    var explanation: String
}

/// The `--output json` document of `marshal bench`.
struct BenchReport: Encodable {
    var url: String
    var result: LoadResult
    var thresholds: [ThresholdCheck]
}

/// The wrk-like text summary of a bench run.
struct BenchSummary {
    let url: String
    let plan: LoadPlan
    let result: LoadResult
    let checks: [ThresholdCheck]

    var text: String {
        let o = result.overall
        var lines: [String] = []
        switch plan.mode {
        case .closedLoop(let connections, _):
            lines.append("Running \(Self.seconds(plan.duration.seconds)) closed-loop test @ \(url)")
            lines.append("  \(plan.threads) threads and \(connections) connections")
        case .users(let users):
            lines.append("Running \(Self.seconds(plan.duration.seconds)) test of \(users.count) virtual users @ \(url)")
            lines.append("  \(plan.threads) threads, think time \(DurationText.format(users.thinkTime))"
                         + (users.rampUp > .zero ? ", ramp-up \(DurationText.format(users.rampUp))" : ""))
        case .openLoop(let phases):
            let rate = phases.first?.rate ?? 0
            let cap = plan.connections.map { "\($0) connections" } ?? "connections as needed"
            lines.append("Running \(Self.seconds(plan.duration.seconds)) open-loop test @ \(url)")
            lines.append("  \(plan.threads) threads, \(Self.number(rate)) req/s planned, \(cap), up to \(plan.maxInFlight) in flight")
        }
        if o.latency.count == 0 {
            lines.append("  Latency distribution: not measured (no request got an answer)")
        } else {
            lines.append("  Latency distribution\(result.mode == "closed" ? "" : " (from planned send time)")")
            for (label, value) in [("50%", o.latency.p50), ("75%", o.latency.p75), ("90%", o.latency.p90), ("99%", o.latency.p99)] {
                lines.append("    \(label.padding(toLength: 5, withPad: " ", startingAt: 0))\(Self.ms(value))")
            }
            lines.append("    min \(Self.ms(o.latency.min)), mean \(Self.ms(o.latency.mean)), stdev \(Self.ms(o.latency.stdDev)), max \(Self.ms(o.latency.max))")
        }
        if result.mode == "open" && o.latency.count > 0 {
            lines.append("  p99 corrected for coordinated omission \(Self.ms(o.latency.p99)) vs service time \(Self.ms(o.serviceTime.p99))")
        }
        if result.mode == "open" {
            for phase in result.phases {
                lines.append("  Phase \(phase.index + 1): planned \(phase.planned), sent \(phase.sent), dropped \(phase.dropped), achieved \(Self.number(phase.achievedRate)) req/s")
            }
        }
        if let u = result.users {
            lines.append("  \(u.served) concurrent users (of \(u.planned) planned; \(u.started) sent a request): "
                         + "\(Self.number(u.achievedRate)) req/s sent, \(Self.number(u.plannedRate)) planned; "
                         + "sends late by \(Self.ms(u.meanLateness)) on average, \(Self.ms(u.maxLateness)) at most")
        }
        lines.append("  \(o.count) requests in \(Self.seconds(result.duration))")
        let e = o.errors
        lines.append("  Errors: connect \(e.connect), timeout \(e.timeout), status \(e.status), expectation \(e.expectation), other \(e.other); dropped \(o.dropped)")
        if let samples = result.errorSamplesText { lines.append("  First errors: \(samples)") }
        // A closed loop's rate counts the answers within the duration (as wrk); the requests in
        // flight at its end, awaited after it, are in the count above but not in the rate.
        let window = result.mode == "closed" ? " (answered within the duration)" : ""
        lines.append("Requests/sec: \(String(format: "%.2f", o.rps))\(window)")
        for check in checks {
            lines.append("Threshold \(check.passed ? "passed" : "FAILED"): \(check.explanation)")
        }
        return lines.joined(separator: "\n")
    }

    static func ms(_ seconds: Double) -> String {
        let ms = seconds * 1000
        return ms >= 1000 ? String(format: "%.2fs", seconds) : String(format: "%.2fms", ms)
    }

    static func seconds(_ value: Double) -> String { String(format: "%.2fs", value) }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}
