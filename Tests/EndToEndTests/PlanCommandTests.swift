import Foundation
import Testing

@Suite("marshal plan")
struct PlanCommandTests {
    /// An environment with a secret from a variable, and a runbook that uses it and a param.
    func fixture() -> (dir: String, secretValue: String) {
        let dir = CLI.temporaryDirectory()
        CLI.write("""
        version: 1
        environment: plan-test
        ssh: { user: deploy, identity: /dev/null, known_hosts: /dev/null }
        hosts:
          web1: { address: 127.0.0.1, port: 2201, roles: [web], vars: { app_dir: /srv/a } }
          web2: { address: 127.0.0.1, port: 2202, roles: [web], vars: { app_dir: /srv/b } }
          web3: { address: 127.0.0.1, port: 2203, roles: [web], vars: { app_dir: /srv/c } }
          web4: { address: 127.0.0.1, port: 2204, roles: [web], vars: { app_dir: /srv/d } }
        secrets:
          token: { env: PLAN_TEST_TOKEN }
        """, to: dir + "/env.yml")
        CLI.write("""
        version: 1
        runbook: plan-test
        params:
          release: { type: string, required: true }
        targets: web
        strategy: { batches: [1, "50%", "100%"] }
        steps:
          - name: deploy
            shell: "deploy --release {{ params.release }} --token {{ secrets.token }} --dir {{ vars.app_dir }}"
          - name: call home
            http: { url: "https://example.invalid/hook?t={{ secrets.token }}", method: POST }
        """, to: dir + "/runbook.yml")
        // A value that appears in no input file, so finding it anywhere means it leaked.
        return (dir, "s3cr3t-\(UUID().uuidString)")
    }

    @Test("never prints a secret's value, in text or JSON, even though it is set")
    func secretsMasked() async throws {
        let (dir, secret) = fixture()
        for output in ["text", "json"] {
            let result = try await CLI.run(["plan", dir + "/runbook.yml", "-e", dir + "/env.yml", "-p", "release=v2", "--output", output],
                                     environment: ["PLAN_TEST_TOKEN": secret])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret))
            #expect(result.stdout.contains("--token ***"))
        }
    }

    @Test("never prints a secret passed as a param to an included runbook, an on_failure runbook or used in the rollback list (the included step's line showed it)")
    func secretsThroughParamsMasked() async throws {
        let (dir, secret) = fixture()
        CLI.write("""
        version: 1
        runbook: uses-token
        params:
          token: { type: string, required: true }
        steps:
          - name: notify
            shell: "notify --token {{ params.token }}"
        """, to: dir + "/uses-token.yml")
        CLI.write("""
        version: 1
        runbook: passes-token
        targets: web
        on_failure: { run: uses-token.yml, params: { token: "{{ secrets.token }}" } }
        steps:
          - include: { runbook: uses-token.yml, params: { token: "{{ secrets.token }}" } }
        rollback:
          - include: { runbook: uses-token.yml, params: { token: "{{ secrets.token }}" } }
        """, to: dir + "/passes-token.yml")
        for output in ["text", "json"] {
            let result = try await CLI.run(["plan", dir + "/passes-token.yml", "-e", dir + "/env.yml", "--output", output],
                                           environment: ["PLAN_TEST_TOKEN": secret])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret), "\(result.stdout)")
            // Each of the three places plans the step on the 4 hosts: text prints it once per host
            // (the command is the description), JSON as `detail` and as `command`.
            #expect(result.stdout.components(separatedBy: "notify --token ***").count - 1 == (output == "text" ? 12 : 24), "\(result.stdout)")
        }
    }

    @Test("quotes a hostile param value so the shell sees one word")
    func quoting() async throws {
        let (dir, _) = fixture()
        let result = try await CLI.run(["plan", dir + "/runbook.yml", "-e", dir + "/env.yml", "-p", "release=a b'; rm -rf /"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("deploy --release 'a b'\\''; rm -rf /' --token *** --dir /srv/a"))
    }

    @Test("resolves batches [1, 50%, 100%] over 4 hosts as 1, 1, 2 and renders each host's vars")
    func batches() async throws {
        let (dir, _) = fixture()
        let result = try await CLI.run(["plan", dir + "/runbook.yml", "-e", dir + "/env.yml", "-p", "release=v2", "--output", "json"])
        #expect(result.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let batches = try #require(json["batches"] as? [[String: Any]])
        #expect(batches.map { $0["hosts"] as? [String] ?? [] } == [["web1"], ["web2"], ["web3", "web4"]])
        let last = try #require(batches.last?["steps"] as? [[String: Any]])
        let details = (last.first?["actions"] as? [[String: Any]])?.compactMap { $0["detail"] as? String }
        #expect(details?.first?.hasSuffix("--dir /srv/c") == true)
        #expect(details?.last?.hasSuffix("--dir /srv/d") == true)
    }

    @Test("a missing required param: exit 2 naming it")
    func missingParam() async throws {
        let (dir, _) = fixture()
        let result = try await CLI.run(["plan", dir + "/runbook.yml", "-e", dir + "/env.yml"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("missing required param 'release'"))
        #expect(result.stderr.contains("pass it as -p release=VALUE"))
    }

    @Test("an unknown param: exit 2 with a suggestion")
    func unknownParam() async throws {
        let (dir, _) = fixture()
        let result = try await CLI.run(["plan", dir + "/runbook.yml", "-e", dir + "/env.yml", "-p", "release=v2", "-p", "relase=v3"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("has no param 'relase' (did you mean 'release'?)"))
    }

    @Test("the shipped production rollout plans against the lab environment")
    func shippedPlan() async throws {
        let result = try await CLI.run(["plan", "production-rollout", "-e", "local", "-p", "release=v2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Batch 1 of 3: web1"))
        #expect(result.stdout.contains("Batch 3 of 3: web4, web5"))
        #expect(result.stdout.contains("thresholds: p95 < 500ms, error_rate < 1%"))
    }
}
