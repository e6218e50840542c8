import Foundation
import Testing

/// `scripts/demo-lab`, the lab that Environments/local.yml and `make demo` run against. It lives at
/// the fixed /tmp/marshal-lab, so this suite is serialized and starts by stopping any lab already there.
@Suite("demo lab", .serialized)
struct DemoLabTests {
    static let dir = "/tmp/marshal-lab"
    static let script = CLI.root + "/scripts/demo-lab"

    struct Recorded { var pid: Int32; var name: String }

    func demoLab(_ command: String) async throws -> CLI.Result {
        try await Shell.run([Self.script, command])
    }

    func curl(_ url: String, method: String = "GET") async throws -> (status: Int, body: String) {
        let result = try await Shell.run(["/usr/bin/curl", "-s", "-m", "5", "-X", method, "-w", "\n%{http_code}", url])
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    func recorded() -> [Recorded] {
        let text = (try? String(contentsOfFile: Self.dir + "/services.pids", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard words.count >= 2, let pid = Int32(words[0]) else { return nil }
            return Recorded(pid: pid, name: String(words[1]))
        }
    }

    /// Gone, or a zombie: in a container PID 1 may never reap orphans, and a zombie holds nothing.
    func isGone(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }

    func children(of pid: Int32) -> [Int32] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { Int32($0) }
    }

    @Test("start brings up ssh hosts, apps on v1, nginx, PostgreSQL and Prometheus; stop ends every recorded PID")
    func startCheckStop() async throws {
        // A lab left by a demo or an earlier run: stop it, so this test sees a fresh one.
        if try await demoLab("status").status != 3 {
            let stopped = try await demoLab("stop")
            #expect(stopped.status == 0, "\(stopped.stdout)\(stopped.stderr)")
        }
        let began = Date()
        let started = try await demoLab("start")
        let startSeconds = Date().timeIntervalSince(began)
        var stopped = false
        defer { if !stopped { _ = try? Shell.runBlocking([Self.script, "stop"]) } }
        try #require(started.status == 0, "\(started.stdout)\(started.stderr)")
        #expect(startSeconds < 30, "start took \(startSeconds) s")

        let again = try await demoLab("start")
        #expect(again.status == 0 && again.stdout.contains("already running"), "a second start is a no-op")

        for n in 1...5 {
            let health = try await curl("http://127.0.0.1:\(18080 + n)/api/health")
            #expect(health.status == 200, "web\(n): \(health.body)")
            #expect(json(health.body)["release"] as? String == "v1", "web\(n): \(health.body)")
        }
        let proxied = try await curl("http://127.0.0.1:18080/api/state-machine/diagram")
        #expect(proxied.status == 200 && json(proxied.body)["success"] as? Bool == true, "nginx: \(proxied.body)")
        let concierge = try await curl("http://127.0.0.1:18080/api/ai-concierge/message", method: "POST")
        #expect(concierge.status == 200, "nginx → concierge: \(concierge.body)")

        let sql = "select count(*) from information_schema.columns where table_name = 'ai_concierge_sessions'"
        let psql = try await Shell.run([
            "/usr/bin/ssh", "-i", Self.dir + "/client_ed25519", "-o", "UserKnownHostsFile=\(Self.dir)/known_hosts",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-p", "2226", "root@127.0.0.1",
            "psql -X -A -t -d \"$(cat \(Self.dir)/secrets/database_url)\" -c \"\(sql)\"",
        ])
        let columns = Int(psql.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(psql.status == 0 && columns >= 5, "psql on db1: \(psql.stdout)\(psql.stderr)")

        let up = try await curl("http://127.0.0.1:19090/api/v1/query?query=up")
        let series = (json(up.body)["data"] as? [String: Any])?["result"] as? [Any] ?? []
        #expect(series.count == 5, "prometheus up: \(up.body)")

        let processes = recorded()
        #expect(processes.count >= 15, "services.pids: \(processes.map(\.name))")
        let apps = processes.filter { $0.name.hasSuffix("-supervisord") }.flatMap { children(of: $0.pid) }
        #expect(apps.count == 11, "an app and a queue worker under each supervisord, and the scheduler under web1's")
        #expect(processes.contains { $0.name == "redis" }, "services.pids: \(processes.map(\.name))")

        let stop = try await demoLab("stop")
        stopped = true
        #expect(stop.status == 0, "\(stop.stdout)\(stop.stderr)")
        for process in processes {
            #expect(isGone(process.pid), "\(process.name) (pid \(process.pid)) still runs after stop")
        }
        for pid in apps {
            #expect(isGone(pid), "app pid \(pid) still runs after stop")
        }
        #expect(try await demoLab("status").status == 3, "status says not running")
    }
}
