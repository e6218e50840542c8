/// RFC 4180 records, as psql `--csv` writes them: a field holding `,`, `"`, CR or LF is quoted
/// and its quotes doubled, so no byte of data can end a field or a row.
enum CSVRecords {
    static func parse(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var chars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return chars.next()
        }
        var atFieldStart = true
        while let c = next() {
            if quoted {
                if c == "\"" {
                    if let after = next() {
                        if after == "\"" { field.unicodeScalars.append("\""); continue }
                        pending = after
                    }
                    quoted = false
                } else {
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where atFieldStart:
                quoted = true
                atFieldStart = false
            case ",":
                record.append(field); field = ""; atFieldStart = true
            case "\r":
                continue
            case "\n":
                record.append(field); field = ""; atFieldStart = true
                records.append(record); record = []
            default:
                field.unicodeScalars.append(c)
                atFieldStart = false
            }
        }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
        }
        return records
    }
}
