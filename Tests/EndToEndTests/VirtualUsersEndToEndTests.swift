import Foundation
import MarshalTestSupport
import Testing

/// Issue 15 item 5 through a runbook: a `benchmark` with `users:` runs, its figures go to the
/// journal, and the report says "N concurrent users" and fills reference 001's Targets row.
@Suite("Virtual users in a real run", .serialized)
struct VirtualUsersEndToEndTests {
    @Test("users: 50, think_time: 200ms for 2 s: plan names the users, the report says \"50 concurrent users\" with the planned and achieved rate, Targets' \"Concurrent users\" row is measured, --verify passes")
    func usersInReport() async throws {
        let app = try await GateApp()
        let dir = CLI.temporaryDirectory()
        let path = dir + "/users.yml"
        CLI.write("""
        version: 1
        runbook: users
        targets: all
        steps:
          - name: shoppers
            benchmark:
              base_url: "\(app.url)"
              users: 50
              think_time: 200ms
              ramp_up: 500ms
              duration: 2s
              scenarios: [ { name: browse, get: /slow/2, weight: 3 }, { name: buy, get: /slow/3 } ]
              thresholds: { users: ">= 50", error_rate: "< 1%" }
              labels: { users: Concurrent users }
        """, to: path)
        let env = CLI.localEnvironment(dir, name: "users")
        let plan = try await CLI.run(["plan", path, "-e", env])
        #expect(plan.stdout.contains("50 virtual users for 2s, think time 200ms, ramp-up 500ms"), "\(plan.stdout)\(plan.stderr)")
        let run = try await CLI.run(["run", path, "-e", env, "--state", dir + "/state"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let document = dir + "/results.md"
        let report = try await CLI.run(["report", "last", "--state", dir + "/state", "-o", document])
        #expect(report.status == 0, "\(report.stderr)")
        let text = try String(contentsOfFile: document, encoding: .utf8)
        #expect(text.contains("**50 concurrent users** (50 planned, 50 sent a request, 50 answered); think time 0.2 s; ramp-up 0.5 s; "), "\(text)")
        #expect(text.contains("req/s sent against") && text.contains("planned ("))
        #expect(text.contains("| Concurrent users (shoppers, batch 1) | users >= 50 | 50 |"), "\(text)")
        #expect(!text.contains("no gate in this run is labelled \"Concurrent users\""))
        let verified = try await CLI.run(["report", "last", "--state", dir + "/state", "--verify", document])
        #expect(verified.status == 0, "\(verified.stderr)")
    }
}
