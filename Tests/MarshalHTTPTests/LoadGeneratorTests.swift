import Foundation
import MarshalCore
@testable import MarshalHTTP
import Testing


extension HTTPLab {
    @Suite("Load generator against the lab")
    final class LoadGeneratorTests {
        let lab: Lab
        let generator = CurlLoadGenerator()

        init() throws {
            lab = try Lab()
        }

        @Test("Open loop at 200 req/s for 2 s sends on pace, within 2 %, and drops nothing")
        func openLoopRate() async throws {
            let plan = LoadPlan(baseURL: lab.nginxURL, mode: .openLoop(phases: [.init(duration: .seconds(2), rate: 200)]),
                                scenarios: [.init(name: "index", path: "/index.html")])
            let result = try await generator.run(plan)
            let phase = try #require(result.phases.first)
            #expect(phase.planned == 400)
            #expect(abs(phase.achievedRate - 200) / 200 < 0.02)
            #expect(abs(result.overall.rps - 200) / 200 < 0.02)
            #expect(result.overall.count == 400)
            #expect(result.overall.dropped == 0)
            #expect(result.overall.errors.total == 0)
            #expect(result.perSecond.map(\.sent).reduce(0, +) == 400)
            #expect(result.overall.latency.p50 > 0 && result.overall.latency.p50 < 0.05)
        }

        @Test("Open loop at 1,500 req/s on one thread (paced: one wake-up per tick) keeps pace, drops nothing, and times answers at their arrival, not at the tick that reads them")
        func pacedOpenLoop() async throws {
            let plan = LoadPlan(baseURL: lab.nginxURL, mode: .openLoop(phases: [.init(duration: .seconds(2), rate: 1500)]),
                                threads: 1, scenarios: [.init(name: "index", path: "/index.html")])
            let tick = Double(LoadWorker.sendTickNanos) / 1e9
            // Pacing and nginx's answer time are figures of the machine as well: with the rest of
            // the suite (or a compiler) on the same 2 cores, one 2 s run could fall behind by 20 %.
            // Up to three runs; the first that holds is checked below, else the last, so the test
            // still fails when the generator never paces or times answers at the tick.
            var result = try await generator.run(plan)
            for _ in 1..<3 {
                let phase = result.phases.first
                let held = phase.map { abs($0.achievedRate - 1500) / 1500 < 0.01 } == true && result.overall.serviceTime.p50 < tick * 0.6
                if held { break }
                result = try await generator.run(plan)
            }
            let phase = try #require(result.phases.first)
            #expect(phase.planned == 3000)
            #expect(abs(phase.achievedRate - 1500) / 1500 < 0.01, "achieved \(phase.achievedRate)")
            #expect(result.overall.count == 3000)
            #expect(result.overall.dropped == 0)
            #expect(result.overall.errors.total == 0)
            // An answer is read at the tick after it came (sends go out just after a tick), so
            // timed at reading, nearly every service time would be close to a whole tick; nginx
            // answers its static file in far less.
            #expect(result.overall.serviceTime.p50 < tick * 0.6, "service p50 \(result.overall.serviceTime.p50)")
            #expect(result.overall.latency.p50 >= result.overall.serviceTime.p50)
        }

        @Test("A 1 s server stall shows in the corrected p99, not in the service-time p99")
        func stallShowsInCorrectedLatency() async throws {
            let plan = LoadPlan(baseURL: lab.appURL, mode: .openLoop(phases: [.init(duration: .seconds(3), rate: 100)]),
                                threads: 1, scenarios: [.init(name: "delay", path: "/delay?ms=5")], connections: 2)
            let stallURL = lab.appURL + "/stall?ms=1000"
            let stall = Task {
                try await Task.sleep(for: .milliseconds(1000))
                _ = try await CurlHTTPClient().send(HTTPRequest(url: stallURL))
            }
            let result = try await generator.run(plan)
            try await stall.value
            #expect(result.overall.dropped == 0)
            #expect(result.overall.errors.total == 0)
            // Timed from each request's planned start, the ~100 requests due during the stall wait
            // up to 1 s: p99 near 1 s. Timed from sending, only the 2 caught in flight do. The line
            // between them is half the stall: on 2 busy cores a 5 ms answer took 138 ms once
            // (CI, suite in parallel), which says nothing about where the stall is counted.
            #expect(result.overall.latency.p99 > 0.5, "corrected p99 \(result.overall.latency.p99)")
            #expect(result.overall.serviceTime.p99 < 0.5, "service-time p99 \(result.overall.serviceTime.p99)")
            #expect(result.overall.serviceTime.max > 0.5)
        }

        @Test("Closed loop keeps N connections busy and every count adds up")
        func closedLoopCounts() async throws {
            let plan = LoadPlan(baseURL: lab.nginxURL, mode: .closedLoop(connections: 4, duration: .seconds(1)),
                                scenarios: [.init(name: "index", path: "/index.html", weight: 3), .init(name: "missing", path: "/missing", weight: 1)])
            let result = try await generator.run(plan)
            #expect(result.mode == "closed")
            #expect(result.overall.count > 200)
            #expect(result.overall.count == result.scenarios.map(\.count).reduce(0, +))
            #expect(result.overall.count == result.perSecond.map(\.completed).reduce(0, +))
            let index = result.scenarios[0], missing = result.scenarios[1]
            #expect(index.errors.total == 0)
            #expect(missing.errors.status == missing.count)
            #expect(abs(Double(index.count) / Double(result.overall.count) - 0.75) < 0.02)
            #expect(result.overall.latency == result.overall.serviceTime)
            #expect(result.duration >= 1 && result.duration < 1.5)
            let l = result.overall.latency
            #expect(l.min <= l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max)
            // The kept histogram holds every answer and gives back the summary's percentiles.
            let kept = try #require(index.latencyHistogram)
            #expect(kept.count == UInt64(index.count))
            #expect(kept.value(atPercentile: 99) == index.latency.p99)
            #expect(kept.value(atPercentile: 50) == index.latency.p50)
            #expect(result.metrics["missing.error_rate"] == 1)
            #expect(result.metrics["index.error_rate"] == 0)
        }

        @Test("Closed loop req/s counts the answers within the duration, over the duration (as wrk); answers still in flight at its end are awaited and counted, not as throughput")
        func closedLoopRateInWindow() async throws {
            // 300 ms answers on 4 connections for 1 s: 3 answers each by the end, the 4th at 1.2 s.
            let plan = LoadPlan(baseURL: lab.appURL, mode: .closedLoop(connections: 4, duration: .seconds(1)), threads: 1,
                                scenarios: [.init(name: "delay", path: "/delay?ms=300")])
            let result = try await generator.run(plan)
            #expect(result.overall.errors.total == 0)
            let inWindow = result.perSecond.first?.completed ?? 0
            #expect(inWindow >= 4 && result.overall.count > inWindow, "\(result.perSecond)")
            #expect(result.duration > 1.1, "the run awaited the answers in flight")
            #expect(abs(result.overall.rps - Double(inWindow)) < 1e-9, "rps \(result.overall.rps), answered within 1 s \(inWindow)")
            #expect(abs(result.scenarios[0].rps - result.overall.rps) < 1e-9)
        }

        @Test("Closed loop with more connections than may connect at once (300 on one thread, 256 at a time) opens them all and fails nothing")
        func manyConnections() async throws {
            let plan = LoadPlan(baseURL: lab.nginxURL, mode: .closedLoop(connections: 300, duration: .seconds(1)), threads: 1,
                                scenarios: [.init(name: "index", path: "/index.html")])
            let result = try await generator.run(plan)
            #expect(result.overall.errors.total == 0, "\(result.overall.errors) \(String(describing: result.errorSamples))")
            #expect(result.overall.count > 300)
        }

        @Test("Requests due while maxInFlight are in flight are counted as dropped")
        func droppedWhenSaturated() async throws {
            let plan = LoadPlan(baseURL: lab.appURL, mode: .openLoop(phases: [.init(duration: .seconds(1), rate: 50)]),
                                scenarios: [.init(name: "slow", path: "/delay?ms=200")], maxInFlight: 2)
            let result = try await generator.run(plan)
            #expect(result.overall.dropped > 20)
            #expect(result.overall.count + result.overall.dropped == 50)
            #expect(result.phases[0].dropped == result.overall.dropped)
            #expect(result.metrics["dropped"] == Double(result.overall.dropped))
        }

        @Test("Unexpected statuses count as expectation errors; refused connections as connect errors")
        func errorClasses() async throws {
            let plan = LoadPlan(baseURL: lab.appURL, mode: .openLoop(phases: [.init(duration: .milliseconds(500), rate: 40)]),
                                scenarios: [.init(name: "down", path: "/status/503", expectStatus: [200])])
            let result = try await generator.run(plan)
            #expect(result.overall.errors.expectation == 20)
            #expect(result.errorSamples?["expectation"]?.hasSuffix("/status/503 answered 503, expected [200]") == true, "\(String(describing: result.errorSamples))")
            #expect(result.metrics["error_rate"] == 1)

            let refused = LoadPlan(baseURL: "http://127.0.0.1:\(Lab.closedPort())", mode: .closedLoop(connections: 1, duration: .milliseconds(200)))
            let refusedResult = try await generator.run(refused)
            #expect(refusedResult.overall.errors.connect == refusedResult.overall.count)
            #expect(refusedResult.overall.count > 0)
            // No answer was timed: there is no latency to hold a threshold to, not a latency of 0.
            #expect(refusedResult.metrics["p95"] == nil && refusedResult.metrics["max"] == nil)
            #expect(refusedResult.metrics["error_rate"] == 1)
            #expect(refusedResult.overall.rps == 0, "refused connections are not throughput")
            #expect(refusedResult.overall.latency.ms(\.p95) == "not measured")
        }

        @Test("A connection that reaches itself (TCP self-connect on a dead port) is a connect error, not 'not an HTTP answer' (issue 12 item 14)")
        func selfConnect() async throws {
            let port = Lab.closedPort()
            LoadConnection.selfConnectTestPort = port
            defer { LoadConnection.selfConnectTestPort = nil }
            // The first connect reaches itself; later ones cannot bind the port while the first
            // one's end sits in TIME_WAIT (a hook artefact: unhooked connects pick fresh ports).
            let plan = LoadPlan(baseURL: "http://127.0.0.1:\(port)", mode: .closedLoop(connections: 1, duration: .milliseconds(200)), threads: 1)
            let result = try await generator.run(plan)
            #expect(result.overall.errors.connect >= 1, "\(result.overall.errors) \(String(describing: result.errorSamples))")
            #expect(result.errorSamples?["other"]?.contains("not an HTTP answer") != true, "\(String(describing: result.errorSamples))")
            #expect(result.errorSamples?["connect"]?.contains("reached itself") == true, "\(String(describing: result.errorSamples))")
        }

        @Test("Chunked, Connection: close and close-delimited answers are read to their end, none an error")
        func framings() async throws {
            let plan = LoadPlan(baseURL: lab.appURL, mode: .closedLoop(connections: 2, duration: .milliseconds(800)), threads: 1,
                                scenarios: [.init(name: "chunked", path: "/chunked?n=5"), .init(name: "close", path: "/close"),
                                            .init(name: "http10", path: "/http10")])
            let result = try await generator.run(plan)
            #expect(result.overall.errors.total == 0, "\(result.overall.errors)")
            for s in result.scenarios { #expect(s.count > 10, "\(s.name): \(s.count)") }
        }

        @Test("A server closing kept-alive connections without saying so fails no request (one retry on a new connection)")
        func silentClose() async throws {
            let plan = LoadPlan(baseURL: lab.appURL, mode: .closedLoop(connections: 2, duration: .milliseconds(800)), threads: 1,
                                scenarios: [.init(name: "silent", path: "/silent-close")])
            let result = try await generator.run(plan)
            #expect(result.overall.count > 20)
            #expect(result.overall.errors.total == 0, "\(result.overall.errors)")
        }

        @Test("An answer that is not HTTP counts as an error of class other")
        func garbage() async throws {
            let plan = LoadPlan(baseURL: lab.appURL, mode: .openLoop(phases: [.init(duration: .milliseconds(500), rate: 20)]),
                                scenarios: [.init(name: "garbage", path: "/garbage")])
            let result = try await generator.run(plan)
            #expect(result.overall.count == 10)
            #expect(result.overall.errors.other == 10)
            #expect(result.errorSamplesText == #"other: not an HTTP answer: not an HTTP/1.x status line: "HELLO THERE""#)
        }

        @Test("A bare CR in the status line on a kept-open connection is an error of class other at once, not a timeout")
        func bareCROnOpenConnection() async throws {
            let plan = LoadPlan(baseURL: lab.appURL, mode: .openLoop(phases: [.init(duration: .milliseconds(500), rate: 20)]),
                                scenarios: [.init(name: "bare-cr", path: "/bare-cr")], timeout: .seconds(5))
            let started = ContinuousClock.now
            let result = try await generator.run(plan)
            #expect(result.overall.count == 10)
            #expect(result.overall.errors.other == 10, "\(result.overall.errors)")
            #expect(result.overall.errors.timeout == 0)
            #expect(result.errorSamplesText?.contains("CR not followed by LF in the status line") == true, "\(result.errorSamplesText ?? "")")
            // Waiting for a blank line would have held the run for the 5 s timeout.
            #expect(ContinuousClock.now - started < .seconds(3))
        }

        @Test("Requests go out with the scenario's method, headers and body (the server checks them)")
        func requestShape() async throws {
            let plan = LoadPlan(baseURL: lab.appURL, mode: .openLoop(phases: [.init(duration: .milliseconds(500), rate: 20)]),
                                scenarios: [
                                    .init(name: "post", method: "POST", path: "/check?method=POST&body=%7B%22a%22%3A1%7D&header=X-Token&value=t1",
                                          headers: [("X-Token", "t1"), ("Content-Type", "application/json")], body: Array(#"{"a":1}"#.utf8)),
                                    .init(name: "put", method: "PUT", path: "/check?method=PUT&body=", weight: 1),
                                    .init(name: "wrong", method: "DELETE", path: "/check?method=GET", expectStatus: [422]),
                                ])
            let result = try await generator.run(plan)
            #expect(result.overall.count == 10)
            #expect(result.overall.errors.total == 0, "\(result.overall.errors)")
        }

        @Test("An 8 MB request body goes out whole (socket buffer full, then writable) and its 8 MB echo is read to the end")
        func largeBodies() async throws {
            let body = Array(repeating: UInt8(ascii: "x"), count: 8 * 1024 * 1024)
            let plan = LoadPlan(baseURL: lab.appURL, mode: .closedLoop(connections: 2, duration: .milliseconds(800)), threads: 1,
                                scenarios: [.init(name: "echo", method: "POST", path: "/echo", body: body, expectStatus: [200])])
            let result = try await generator.run(plan)
            #expect(result.overall.count >= 2)
            #expect(result.overall.errors.total == 0, "\(result.overall.errors)")
        }

        @Test("A request past its timeout fails as a timeout, close to the timeout")
        func timeouts() async throws {
            let plan = LoadPlan(baseURL: lab.appURL, mode: .openLoop(phases: [.init(duration: .milliseconds(500), rate: 10)]),
                                scenarios: [.init(name: "slow", path: "/delay?ms=2000")], timeout: .milliseconds(300))
            let result = try await generator.run(plan)
            #expect(result.overall.count == 5)
            #expect(result.overall.errors.timeout == 5)
            #expect(result.errorSamples == ["timeout": "no answer within 300ms"])
            #expect(result.duration < 1.2, "the run waited for the slow answers: \(result.duration) s")
        }

        @Test("TLS: verification refuses a self-signed server unless insecure is set, then requests pass")
        func tls() async throws {
            let verified = LoadPlan(baseURL: lab.tlsURL, mode: .closedLoop(connections: 1, duration: .milliseconds(300)), threads: 1,
                                    scenarios: [.init(name: "index", path: "/index.html")])
            let refused = try await generator.run(verified)
            #expect(refused.overall.count > 0)
            #expect(refused.overall.errors.other == refused.overall.count)
            #expect(refused.errorSamples?["other"]?.contains("certificate") == true, "the operator learns why: \(String(describing: refused.errorSamples))")
            var insecure = verified
            insecure.insecure = true
            insecure.mode = .closedLoop(connections: 4, duration: .milliseconds(500))
            let result = try await generator.run(insecure)
            #expect(result.overall.count > 100)
            #expect(result.overall.errors.total == 0, "\(result.overall.errors)")
        }

        @Test("A plan with problems is refused with all of them listed")
        func invalidPlan() async {
            let plan = LoadPlan(baseURL: "ftp://x", mode: .openLoop(phases: []), threads: 0, scenarios: [])
            await #expect {
                _ = try await generator.run(plan)
            } throws: { error in
                guard case .invalidPlan(let problems) = error as? LoadError else { return false }
                return problems.count == 4
            }
        }
    }
}

@Suite("Arrival schedule and scenario mix")
struct ScheduleTests {
    @Test("A ramp from 10 to 100 req/s over 60 s plans the area under the rate line, at rising pace")
    func rampCounts() {
        let schedule = ArrivalSchedule([.init(duration: .seconds(60), rate: 10, rampTo: 100), .init(duration: .seconds(2), rate: 5)])
        #expect(schedule.phases[0].count == 3300)
        #expect(schedule.phases[1].count == 10)
        #expect(schedule.total == 3310)
        let gapsEarly = schedule.offsetNanos(phase: 0, arrival: 1) - schedule.offsetNanos(phase: 0, arrival: 0)
        let gapsLate = schedule.offsetNanos(phase: 0, arrival: 3299) - schedule.offsetNanos(phase: 0, arrival: 3298)
        #expect(abs(Double(gapsEarly) / 1e9 - 0.1) < 0.01)
        #expect(abs(Double(gapsLate) / 1e9 - 0.01) < 0.001)
        #expect(schedule.offsetNanos(phase: 1, arrival: 0) == 60_000_000_000)
        #expect(schedule.offsetNanos(phase: 0, arrival: 3299) < 60_000_000_000)
    }

    @Test("Workers striding the schedule together cover every arrival once")
    func cursorsCoverAll() {
        let schedule = ArrivalSchedule([.init(duration: .seconds(1), rate: 7), .init(duration: .seconds(1), rate: 3, rampTo: 9)])
        var seen: [Int] = []
        for w in 0..<3 {
            var cursor = ArrivalSchedule.Cursor(schedule: schedule, start: w, stride: 3)
            while !cursor.isExhausted {
                seen.append(cursor.index)
                cursor.advance()
            }
        }
        #expect(seen.sorted() == Array(0..<schedule.total))
    }

    @Test("Weighted scenarios are picked in proportion and interleaved")
    func weightedPick() {
        var picker = ScenarioPicker(weights: [3, 1])
        let picks = (0..<8).map { _ in picker.pick() }
        #expect(picks.filter { $0 == 0 }.count == 6)
        #expect(!picks.contains([1, 1]) && picks.prefix(4).contains(1))
    }
}
