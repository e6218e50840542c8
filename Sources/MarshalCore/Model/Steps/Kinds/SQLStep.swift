import Foundation

/// `sql: { on: db, query: …, database: …, args: { name: "{{ params.x }}" }, expect: "value >= 5" }`
/// run through psql on the host. `args` are bound values: the query names them `:'name'`.
public struct SQLStep: StepKindPlugin {
    public static let declaration = StepKindDeclaration(
        "sql", summary: "Run a query through psql on a host and hold its first value to an expectation.",
        keys: [
            KeyDeclaration("query", .template, required: true, "The SQL (a read-only query is a check; anything else is a change). Values go in `args`, never as `{{ … }}` in the text."),
            StepDeclarations.database,
            KeyDeclaration("args", .dictionary(.template), "Values bound as psql variables: `args: { id: \"{{ params.id }}\" }`, used in the query as `:'id'`."),
            KeyDeclaration("expect", .expression, "An expression over `value` (the first column of the first row), `row.COLUMN` (any cell of the first row by its column's name), `rows`, `row_count`, `duration` (round trip), `execution_time` and `planning_time` (with `timing: explain`), `baseline.STEP.FIELD`; `{{ params.x }}` in it is rendered when the run starts."),
            KeyDeclaration("timing", .choice(Timing.allCases.map(\.rawValue)), default: "client",
                           "client: the round trip as `duration`; explain: also the server's own time from `EXPLAIN (ANALYZE, FORMAT JSON)` as `execution_time`, `planning_time` (read-only queries only: it runs the query again)."),
            StepDeclarations.noData,
            StepDeclarations.over,
        ],
        runs: "On a host: give it `on:` (usually the database role).",
        evidence: "`value`, `rows` (first 100), `row_count`, `columns`, `duration`; with `timing: explain` `execution_time`, `planning_time` (seconds); the check and the query time are measurements.",
        undo: "None for a read-only query; a changing query takes an `undo` step.",
        example: """
        - sql: { on: db, query: "select count(*) from users", database: "{{ secrets.database_url }}", expect: "value >= 1" }
        """)

    /// A value for the query, bound as psql variable `name` (used as `:'name'` or `:"name"`).
    public struct Argument: Sendable, Hashable {
        public var name: String
        public var value: TemplateString
        public init(name: String, value: TemplateString) {
            self.name = name
            self.value = value
        }
    }

    /// How the query's time is measured: always the client's round trip (`duration`); with
    /// `.explain` also the server's own planning and execution time from
    /// `EXPLAIN (ANALYZE, FORMAT JSON)` (`execution_time`, `planning_time`).
    public enum Timing: String, Sendable, Hashable, CaseIterable { case client, explain }

    public var query: TemplateString
    public var database: TemplateString
    public var args: [Argument] = []
    public var expect: Expression?
    public var onNoData: NoDataPolicy = .fail
    public var timing: Timing = .client

    /// A query that starts with SELECT/WITH/SHOW/EXPLAIN and has a single statement only reads.
    public var isReadOnly: Bool {
        let text = query.source.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let body = text.hasSuffix(";") ? String(text.dropLast()) : text
        guard !body.contains(";") else { return false }
        return ["select", "with", "show", "explain", "table", "values"].contains { body.hasPrefix($0) }
            && !["insert ", "update ", "delete ", "drop ", "alter ", "create ", "truncate "].contains { body.contains($0) }
    }

    public static func decode(_ map: any DecodingMap) -> SQLStep? {
        let query = map.template("query", required: true)
        let database = map.template("database", required: true, expected: "a connection string, usually {{ secrets.NAME }}")
        let args = decodeArguments(map)
        let expect = map.node("expect")?.takeTemplate(as: .expect) == true ? nil : map.expression("expect")
        let noData = map.choice("on_no_data", as: NoDataPolicy.self) ?? .fail
        let timing = map.choice("timing", as: Timing.self) ?? .client
        guard let query, let database else { return nil }
        refusePlaceholders(query, args: args, map: map)
        let step = SQLStep(query: query, database: database, args: args, expect: expect, onNoData: noData, timing: timing)
        if timing == .explain, !step.isReadOnly {
            // EXPLAIN ANALYZE executes the statement: a change would be made twice.
            map.error("'timing: explain' runs the query a second time under EXPLAIN ANALYZE, so it is only for a read-only query (SELECT/WITH …); this one changes data", at: map.at("timing"))
        }
        return step
    }

    /// `args: { name: value }`: values bound as psql variables; names as psql accepts them.
    private static func decodeArguments(_ map: any DecodingMap) -> [Argument] {
        guard let node = map.node("args"), let args = node.mapping("'args'") else { return [] }
        return args.entries.compactMap { pair in
            let valid = pair.key.first.map { $0.isASCII && ($0.isLetter || $0 == "_") } == true
                && pair.key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            if !valid {
                map.error("sql arg name '\(pair.key)' must start with a letter and use ASCII letters, digits and _ only (the query uses it as :'\(pair.key)')", at: pair.keyLocation)
                return nil
            }
            return pair.value.template("sql arg '\(pair.key)'").map { Argument(name: pair.key, value: $0) }
        }
    }

    /// A placeholder inside a query would splice a value into SQL text (`x'; drop table …`):
    /// values are bound through `args` instead; `| raw` says the author trusts the text as SQL.
    private static func refusePlaceholders(_ query: TemplateString, args: [Argument], map: any DecodingMap) {
        // psql inserts `:name` unquoted, which is the injection again; `::type` casts are not it.
        for arg in args {
            let pattern = "(?<![:A-Za-z0-9_]):\(arg.name)(?![A-Za-z0-9_])"
            if let regex = try? NSRegularExpression(pattern: pattern),
               let match = regex.firstMatch(in: query.source, range: NSRange(query.source.startIndex..., in: query.source)) {
                let offset = query.source.distance(from: query.source.startIndex,
                                                   to: Range(match.range, in: query.source)!.lowerBound)
                let at = query.source.contains("\n") ? query.location : query.location.advanced(by: offset)
                map.error("':\(arg.name)' in a sql query inserts the value unquoted; write :'\(arg.name)' for a value or :\"\(arg.name)\" for an identifier", at: at)
            }
        }
        for placeholder in TemplateSyntax(query).placeholders where !placeholder.isRaw {
            let name = placeholder.path.last.map { $0.replacingOccurrences(of: "-", with: "_") } ?? "value"
            let suggestion = args.contains { $0.name == name } ? "" : " args: { \(name): \"{{\(placeholder.text)}}\" } and"
            map.error("'{{\(placeholder.text)}}' inside a sql query would be pasted into the SQL text; bind it instead:\(suggestion) write :'\(name)' in the query (or mark it '| raw' if the value is SQL you trust)",
                      at: placeholder.location)
        }
    }

    public var isCheck: Bool { true }
    public var templates: [TemplateString] { [query, database] + args.map(\.value) }
    public var expressions: [Expression] { [expect].compactMap { $0 } }
    public var canBeApproved: Bool { onNoData == .pause }
    public func withExpect(_ expression: Expression) -> SQLStep? { setting(\.expect, to: expression) }
    public var runsCommandOnHost: Bool { true }

    public func describe(_ step: Step, in plan: inout PlanDescription) -> String {
        "psql \(plan.render(database).plainDisplay): \(plan.render(query).plainDisplay)\(expect.map { "; expect \($0.source)" } ?? "")"
    }

    public func commands(_ step: Step, in plan: inout PlanDescription) -> [String]? {
        // Bound values and the NULL marker travel on stdin: the command line does not hold them.
        [plan.mask(PostgresCommands.query(plan.render(query).plainValue, database: plan.render(database), nullMarker: "").display)]
    }

    public func run(_ step: Step, on target: StepTarget, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let (_, executor) = try await target.remote(for: step)
        return try await SQLRunner.run(self, on: executor, timeout: step.timeout, context: context)
    }
}

extension StepKind {
    public static func sql(_ settings: SQLStep) -> StepKind { StepKind(settings) }
}
