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
        var (outcome, result) = await RemoteCommand.run(command, on: executor, timeout: timeout, context: context)
        // The query text is evidence; the connection string is not.
        outcome.command = "psql \(database.plainDisplay): \(context.masker.mask(query.plainDisplay))"
        guard let result, outcome.status == .succeeded else { return outcome }
        let table = parse(result.stdoutText, nullMarker: nullMarker)
        var values: [String: ExprValue] = ["rows": .number(Double(table.rows.count)), "row_count": .number(Double(table.rows.count)),
                                           "columns": .array(table.columns.map { .string($0) })]
        let first = table.rows.first?.first.map(typed)
        if let first { values["value"] = first }
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
        outcome.evidence = .record([
            "value": first.map(ConfigValue.init) ?? .null,
            "rows": .list(table.rows.prefix(100).map { row in .list(row.map { $0.map { .string($0) } ?? .null }) }),
            "row_count": .number(Double(table.rows.count)),
            "columns": .list(table.columns.map { .string($0) }),
        ])
        var number: Double?
        if case .number(let n)? = first { number = n }
        let payload = Evidence.json(SQLResultEvidence(columns: table.columns, rows: Array(table.rows.prefix(100))))
        outcome.measurements.append(.init(kind: .sql, name: context.masker.mask(query.plainDisplay), outcome: verdict.outcome,
                                          expectation: sql.expect?.source, value: number, payloadJSON: payload))
        return outcome
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
