import Foundation
import MarshalTestSupport
import Testing

/// The JSON Schemas and reference pages are generated from the declarations the decoder uses; the
/// shipped copies are current, the files pass a real validator, and the examples validate.
@Suite("Schema and reference docs", .serialized)
struct ReferenceTests {
    static let checker = CLI.root + "/.venv/bin/check-jsonschema"

    /// Creates the Makefile's venv with check-jsonschema when it is not there yet.
    static func ensureChecker() async throws {
        let made = try await Shell.run(["/usr/bin/make", "-C", CLI.root, "--no-print-directory", "venv"])
        #expect(made.status == 0, "make venv: \(made.stdout)\(made.stderr)")
    }

    static func yamlFiles(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: CLI.root + "/" + folder).filter { $0.hasSuffix(".yml") }.sorted()
            .map { CLI.root + "/" + folder + "/" + $0 }
    }

    @Test("schemas/*.schema.json are what `marshal schema` generates now")
    func schemasCurrent() async throws {
        for document in ["runbook", "environment"] {
            let generated = try await CLI.run(["schema", document])
            #expect(generated.status == 0)
            let shipped = try String(contentsOfFile: CLI.root + "/schemas/\(document).schema.json", encoding: .utf8)
            #expect(generated.stdout == shipped, "schemas/\(document).schema.json is stale: make schemas")
        }
    }

    @Test("docs/reference/ is what `marshal docs` generates now (a page per step kind)")
    func docsCurrent() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try await CLI.run(["docs", "--output", dir])
        #expect(result.status == 0, "\(result.stderr)")
        let generated = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        let shipped = try FileManager.default.contentsOfDirectory(atPath: CLI.root + "/docs/reference").sorted()
        #expect(generated == shipped, "docs/reference is stale: make docs-reference")
        for kind in ["shell", "release", "benchmark", "health", "soak", "include"] { #expect(shipped.contains("\(kind).md")) }
        for name in generated {
            let a = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
            let b = try String(contentsOfFile: CLI.root + "/docs/reference/" + name, encoding: .utf8)
            #expect(a == b, "docs/reference/\(name) is stale: make docs-reference")
        }
    }

    @Test("every example in docs/reference validates against an environment that has what it names")
    func examplesValidate() async throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        CLI.write("""
        version: 1
        environment: docs
        transport: local
        hosts:
          web1: { address: 127.0.0.1, roles: [web] }
          db1: { address: 127.0.0.1, roles: [db] }
        vars: { app_dir: /srv/app, base_url: "http://127.0.0.1:8080", prometheus: "http://127.0.0.1:9090" }
        secrets:
          database_url: { env: DOCS_DATABASE_URL }
          slack_webhook: { env: DOCS_SLACK_WEBHOOK }
        """, to: dir + "/env.yml")
        CLI.write("version: 1\nrunbook: smoke-tests\nparams: { base_url: x }\nsteps:\n  - health: \"{{ params.base_url }}\"\n", to: dir + "/smoke-tests.yml")
        let pages = try FileManager.default.contentsOfDirectory(atPath: CLI.root + "/docs/reference").filter { $0.hasSuffix(".md") }
        var checked = 0
        for page in pages.sorted() {
            let text = try String(contentsOfFile: CLI.root + "/docs/reference/" + page, encoding: .utf8)
            for block in text.components(separatedBy: "```yaml\n").dropFirst() {
                let example = block.components(separatedBy: "```").first ?? ""
                let indented = example.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
                // A backup first, so examples may use {{ steps.backup.path }}; params as the examples use them.
                let backup = example.contains("id: backup") ? "" : "  - id: backup\n    backup: { on: db, database: \"{{ secrets.database_url }}\" }\n"
                let runbook = "version: 1\nrunbook: example\nparams: { release: v1 }\nsteps:\n" + backup + indented + "\n"
                let path = dir + "/\(page).yml"
                CLI.write(runbook, to: path)
                let result = try await CLI.run(["validate", path, "-e", dir + "/env.yml"])
                #expect(result.status == 0, "example in \(page) does not validate:\n\(example)\n\(result.stderr)")
                checked += 1
            }
        }
        #expect(checked >= 18, "one example per step kind at least")
    }

    @Test("check-jsonschema: shipped runbooks and environments and the valid fixtures pass; they name their schema on line 1")
    func shippedFilesPass() async throws {
        try await Self.ensureChecker()
        let runbooks = try Self.yamlFiles("Runbooks")
        let environments = try Self.yamlFiles("Environments") + [CLI.root + "/Tests/MarshalLoadingTests/Fixtures/valid/env.yml"]
        for (schema, files) in [("runbook", runbooks), ("environment", environments)] {
            let result = try await Shell.run([Self.checker, "--schemafile", CLI.root + "/schemas/\(schema).schema.json"] + files)
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        }
        for file in try Self.yamlFiles("Runbooks") + Self.yamlFiles("Environments") {
            let first = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").first.map(String.init)
            let schema = file.contains("/Runbooks/") ? "runbook" : "environment"
            #expect(first == "# yaml-language-server: $schema=../schemas/\(schema).schema.json", "\(file)")
        }
    }

    /// Mistakes a JSON Schema cannot see: references between names, expression and template syntax,
    /// rules that join two keys. `validate` finds them; the editor does not.
    static let beyondSchema: Set<String> = [
        "batch-percent-decreasing.yml",  // compares list items
        "duplicate-step-id.yml", "target-unknown-role.yml", "until-references-unknown-step.yml",
        "template-step-referenced-before-it-runs.yml", "template-undefined-param.yml", "template-undefined-secret.yml",
        "template-undefined-step.yml", "template-undefined-var.yml", "template-unknown-filter.yml", "template-unknown-root.yml",
        "template-never-closed.yml", "env-var-is-a-template.yml",  // inside strings
        "expect-expression-incomplete.yml", "threshold-unknown-unit.yml", "when-unknown-function.yml", "probe-invalid-regex.yml",
        "benchmark-threshold-names-nothing.yml",
        // Names inside expressions, whose scope depends on the step's kind and where the expression sits.
        "expect-sql-names-nothing.yml", "expect-probe-names-nothing.yml", "expect-metric-names-nothing.yml",
        "expect-http-that-names-nothing.yml", "expect-soak-gate-names-nothing.yml", "expect-reads-secret.yml",
        "expect-undeclared-param.yml", "until-names-nothing.yml", "when-uses-step-result.yml",
        "benchmark-users-with-connections.yml", "benchmark-think-time-without-users.yml",  // two keys together
        "env-ssh-without-identity.yml", "param-required-with-default.yml", "soak-probe-without-host.yml",  // two keys together
        "soak-gate-is-not-a-check.yml", "undo-on-health-step.yml",  // depends on the step's kind
        "env-alias-bomb.yml",  // YAML aliases, expanded before any schema sees the document
    ]

    /// Not given to check-jsonschema: it expands the 9^8 aliases first (minutes of CPU) and then accepts them.
    static let notRun: Set<String> = ["env-alias-bomb.yml"]

    @Test("check-jsonschema rejects every malformed fixture the schema can express; the rest are listed with why")
    func malformedRejected() async throws {
        try await Self.ensureChecker()
        let dir = "Tests/MarshalLoadingTests/Fixtures/malformed"
        var passed: Set<String> = []
        let files = try Self.yamlFiles(dir)
        #expect(files.count >= 40)
        for file in files {
            let name = (file as NSString).lastPathComponent
            if Self.notRun.contains(name) { passed.insert(name); continue }
            let schema = name.hasPrefix("env-") ? "environment" : "runbook"
            let result = try await Shell.run([Self.checker, "--schemafile", CLI.root + "/schemas/\(schema).schema.json", file])
            if result.status == 0 { passed.insert(name) }
        }
        #expect(passed == Self.beyondSchema, "rejected by validate but not by the schema: \(passed.subtracting(Self.beyondSchema).sorted()); now caught by the schema: \(Self.beyondSchema.subtracting(passed).sorted())")
    }
}
