import Foundation

/// `sql`: runs a query with psql on a host; `value` (first column of the first row), `rows` and
/// `columns` become evidence and are held to `expect`. An empty result is no data.
enum SQLRunner {
    static func run(_ sql: SQLStep, on executor: any RemoteExecutor, timeout: Duration?, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let query = try context.render(sql.query)
        let database = try context.render(sql.database)
        var bound: [(name: String, value: String)] = []
        for argument in sql.args { bound.append((argument.name, try context.render(argument.value).plainValue)) }
        let nullMarker = "NULL-" + String(UInt64.random(in: 0...UInt64.max), radix: 36) + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let command = PostgresCommands.query(query.plainValue, values: bound, database: database, nullMarker: nullMarker)
        let clock = ContinuousClock.now
        var (outcome, result) = await RemoteCommand.run(command, on: executor, timeout: timeout, context: context)
        // psql's start and connection are part of the round trip: it is what a client waits.
        let roundTrip = (ContinuousClock.now - clock).seconds
        // The query text is evidence; the connection string is not.
        outcome.command = "psql \(database.plainDisplay): \(context.masker.mask(query.plainDisplay))"
        guard let result, outcome.status == .succeeded else { return outcome }
        let table = parse(result.stdoutText, nullMarker: nullMarker)
        var values: [String: ExprValue] = ["rows": .number(Double(table.rows.count)), "row_count": .number(Double(table.rows.count)),
                                           "columns": .array(table.columns.map { .string($0) }),
                                           "duration": .number(roundTrip)]
        let first = table.rows.first?.first.map(typed)
        if let first { values["value"] = first }
        // Every cell of the first row by its column's name, so that a window can take the delta of
        // several counters of one query: `delta(row.total_exec_time) / delta(row.calls)`.
        if let row = table.rows.first {
            for (column, cell) in zip(table.columns, row) where values[Self.rowRoot + "." + column] == nil {
                values[Self.rowRoot + "." + column] = typed(cell)
            }
        }
        var server: ServerTime?
        if sql.timing == .explain {
            let explain = PostgresCommands.query("EXPLAIN (ANALYZE, FORMAT JSON) " + query.plainValue, values: bound, database: database, nullMarker: nullMarker)
            let (explained, output) = await RemoteCommand.run(explain, on: executor, timeout: timeout, context: context)
            guard let output, explained.status == .succeeded,
                  let time = ServerTime.parse(parse(output.stdoutText, nullMarker: nullMarker).rows.first?.first ?? nil) else {
                outcome.status = .failed
                outcome.message = "sql: the query ran, but EXPLAIN (ANALYZE, FORMAT JSON) of it gave no execution time: "
                    + context.masker.mask(explained.message ?? RemoteCommand.lastLine(explained.stderr) ?? "no plan in its output")
                return outcome
            }
            server = time
            values["execution_time"] = .number(time.execution)
            values["planning_time"] = .number(time.planning)
        }
        let verdict: GateCheck.Verdict
        if first == nil, sql.expect?.names.contains("value") == true {
            verdict = GateCheck.noData("sql: the query returned no rows", onNoData: sql.onNoData)
        } else if first == .null, sql.expect?.names.contains("value") == true {
            // `select max(x)` over no rows: NULL is no data, not a value to compare.
            verdict = GateCheck.noData("sql: the query returned NULL", onNoData: sql.onNoData)
        } else {
            verdict = GateCheck.evaluate(sql.expect, in: context.expressionScope(values), onNoData: sql.onNoData, what: "sql")
        }
        outcome.status = verdict.status
        outcome.message = verdict.message
        var evidence: [ConfigEntry] = [
            ConfigEntry(key: "value", value: first.map(ConfigValue.init) ?? .null, location: .synthetic("evidence")),
            ConfigEntry(key: "rows", value: .list(table.rows.prefix(100).map { row in .list(row.map { $0.map { .string($0) } ?? .null }) }), location: .synthetic("evidence")),
            ConfigEntry(key: "row_count", value: .number(Double(table.rows.count)), location: .synthetic("evidence")),
            ConfigEntry(key: "columns", value: .list(table.columns.map { .string($0) }), location: .synthetic("evidence")),
            ConfigEntry(key: "duration", value: .number(roundTrip), location: .synthetic("evidence")),
        ]
        if let server {
            evidence.append(ConfigEntry(key: "execution_time", value: .number(server.execution), location: .synthetic("evidence")))
            evidence.append(ConfigEntry(key: "planning_time", value: .number(server.planning), location: .synthetic("evidence")))
        }
        outcome.evidence = .map(evidence)
        var number: Double?
        if case .number(let n)? = first { number = n }
        // A gate on the query's time (`execution_time < 100ms`) measured that time, not the
        // first cell: the report's row for it (and its label, "Database query time") must show it.
        var unit: String?
        let timed: [String: Double?] = ["duration": roundTrip, "execution_time": server?.execution, "planning_time": server?.planning]
        if let name = sql.expect?.bound?.name, let time = timed[name] {
            number = time
            unit = "s"
        }
        let payload = Evidence.json(SQLResultEvidence(columns: table.columns, rows: Array(table.rows.prefix(100))))
        outcome.measurements.append(.init(kind: .sql, name: context.masker.mask(query.plainDisplay), outcome: verdict.outcome,
                                          expectation: sql.expect?.source, value: number, unit: unit, payloadJSON: payload))
        outcome.sample = values.numbers
        // The query's time is a figure of its own: the server's execution time when measured,
        // else the round trip, with both in the payload for the report.
        var times: [(String, ConfigValue)] = [("round_trip", .number(roundTrip))]
        if let server { times += [("execution_time", .number(server.execution)), ("planning_time", .number(server.planning))] }
        outcome.measurements.append(.init(kind: .queryTime, name: context.masker.mask(query.plainDisplay),
                                          value: server?.execution ?? roundTrip, unit: "s",
                                          payloadJSON: ConfigValue.map(times.map { ConfigEntry(key: $0.0, value: $0.1, location: .synthetic("evidence")) }).jsonText))
        return outcome
    }

    /// The name under which the first row's cells are in scope: `row.COLUMN`.
    static let rowRoot = "row"

    /// The names a sql step's `expect` and `until` see (first segments), as `run` puts them in scope.
    static let names = ["value", "rows", "row_count", "columns", "duration", "execution_time", "planning_time", rowRoot]

    /// The server's own time for a query, in seconds, from `EXPLAIN (ANALYZE, FORMAT JSON)`:
    /// `[{"Plan": …, "Planning Time": 0.1, "Execution Time": 12.3}]` (milliseconds).
    struct ServerTime: Equatable {
        var planning: Double
        var execution: Double

        static func parse(_ text: String?) -> ServerTime? {
            guard let text, let data = text.data(using: .utf8),
                  let list = try? JSONSerialization.jsonObject(with: data) as? [Any],
                  let first = list.first as? [String: Any],
                  let execution = (first["Execution Time"] as? NSNumber)?.doubleValue else { return nil }
            let planning = (first["Planning Time"] as? NSNumber)?.doubleValue ?? 0
            return ServerTime(planning: planning / 1000, execution: execution / 1000)
        }
    }

    /// A cell: NULL is kept apart from every text, including an empty one.
    struct Table { var columns: [String]; var rows: [[String?]] }

    /// psql `--csv` output with a header row (RFC 4180: fields with `,` `"` or line breaks are
    /// quoted, quotes doubled); a field equal to `nullMarker` is NULL. Several result sets (a
    /// multi-statement query) follow one another; the first header and its rows are the result.
    static func parse(_ text: String, nullMarker: String) -> Table {
        let records = CSVRecords.parse(text)
        guard let header = records.first else { return Table(columns: [], rows: []) }
        let rows = records.dropFirst().map { $0.map { $0 == nullMarker ? nil : $0 } }
        return Table(columns: header, rows: Array(rows))
    }

    static func typed(_ text: String?) -> ExprValue {
        guard let text else { return .null }
        return typedText(text)
    }

    static func typedText(_ text: String) -> ExprValue {
        if let number = Double(text) { return .number(number) }
        if text == "t" { return .bool(true) }
        if text == "f" { return .bool(false) }
        return .string(text)
    }
}
