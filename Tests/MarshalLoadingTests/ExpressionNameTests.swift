import Foundation
import MarshalCore
import Testing
@testable import MarshalLoading

/// Issue 12, item 12: an expression name that can never have a value is an input error at validate
/// (the refusals are fixtures of the malformed corpus: `expect-*-names-nothing.yml`, `until-names-nothing.yml`,
/// `when-uses-step-result.yml`, `expect-reads-secret.yml`, `expect-undeclared-param.yml`). These tests hold
/// the other side: every name a step kind really puts in scope is accepted.
@Suite("expression names at validate")
struct ExpressionNameTests {
    let loader = Loader(root: Repo.root)

    @Test("each kind's own names, template names and $ paths are accepted in expect, until and when")
    func everyScopeNameAccepted() {
        let path = Repo.temporaryFile("""
        version: 1
        runbook: names
        params:
          min: { type: number, default: 1 }
        targets: all
        steps:
          - id: count
            sql:
              query: "select count(*) as n from users"
              database: "postgresql://app@db/app"
              expect: "value >= params.min and rows >= 1 and row_count >= 1 and contains(columns, 'n')"
          - id: load
            probe: { command: "cat /proc/loadavg", regex: "^([0-9.]+)", expect: "value < 4 and rc == 0 and stdout != ''" }
            until: "value < 4 and rc == 0 and len(stdout_lines) >= 1 and stderr == '' and truncated == false and duration < 5s"
          - metric:
              prometheus: http://127.0.0.1:9090
              query: up
              expect: "value == 1 and steps.count.value >= 1"
            until: "value == 1 and query != ''"
          - health:
              url: http://127.0.0.1:8080/health
              expect: { status: 200, that: "status == 200 and duration < 1s and body != '' and headers.content_type != '' and $.ok == true" }
            until: "status == 200 and json.ok == true and body != '' and duration < 1s"
            when: "host.name != 'db' and run.id != '' and env.HOME != '' and steps.load.value < 4"
          - shell: "true"
            until: "rc == 0 and stdout == '' and stdout_lines == [] and stderr == '' and duration < 1s and truncated == false"
          - soak:
              duration: 1m
              interval: 10s
              gates:
                - metric: { prometheus: http://127.0.0.1:9090, query: up, expect: "value == 1" }
                - health: { url: http://127.0.0.1:8080/health, expect: { that: "status < 500" } }
        """, name: "names.yml")
        let diagnostics = loader.validate(paths: [path], environmentPath: nil)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
    }

    @Test("the refusal names the step kind and points at the name itself (line and column)")
    func refusalPointsAtTheName() throws {
        let path = Repo.temporaryFile("""
        version: 1
        runbook: names
        targets: all
        steps:
          - probe: { command: "echo 3", regex: "([0-9]+)", expect: "value < 5 and stdout != '' and exit_code == 0" }
        """, name: "typo.yml")
        let diagnostics = loader.validate(paths: [path], environmentPath: nil)
        #expect(diagnostics.count == 1)
        let first = try #require(diagnostics.first)
        #expect(first.location.line == 5 && first.location.column == 92, "\(first)")
        #expect(first.message.contains("'exit_code' in 'expect' of a probe step names nothing that has a value"), "\(first.message)")
    }
}
