import Foundation

/// A PostgreSQL connection string split for the process list: the password goes to the program's
/// environment (`PGPASSWORD`, set for that one program, its value read by the shell from stdin);
/// the rest (`postgresql://app@db:5432/app`) is the `-d` argument. Any local user of a host can
/// read argument lists in /proc; only the program's own user (and root) can read its environment.
public struct PostgresConnection: Sendable, Hashable {
    /// The connection string without its password.
    public var conninfo: String
    /// The password (percent-decoded), if the connection string had one.
    public var password: String?
    /// Whether the text came from a secret: then the conninfo is masked in display too.
    public var isSecret: Bool

    public init(_ database: RenderedText) {
        let split = Self.split(database.plainValue)
        conninfo = split.conninfo
        password = split.password
        isSecret = database.containsSecret
    }

    /// `PGPASSWORD="$secret" program OPTIONS -d "$conninfo"`: the fragments of one invocation.
    public func invoke(_ program: String, _ options: String) -> [ShellCommand.Fragment] {
        var fragments: [ShellCommand.Fragment] = []
        if let password { fragments += [.literal("PGPASSWORD="), .secret(Secret(name: "database password", value: password)), .literal(" ")] }
        fragments.append(.literal("\(program) \(options) -d "))
        fragments.append(conninfoFragment)
        return fragments
    }

    /// The connection string without a password, as one shell word (masked when from a secret).
    public var conninfoFragment: ShellCommand.Fragment {
        isSecret ? .secret(Secret(name: "database", value: conninfo)) : .quoted(conninfo)
    }

    // MARK: parsing (libpq's two forms: URI and key=value)

    /// Splits a connection string into the same string without its password, and the password.
    public static func split(_ text: String) -> (conninfo: String, password: String?) {
        if let uri = URIParts(text) { return (uri.withoutPassword, uri.password.map(decode)) }
        return splitKeywords(text)
    }

    /// The forms of the password a program may print: as written, percent-decoded, and the URI's
    /// `user:password` in both forms. The masker hides each of them.
    public static func secretComponents(of text: String) -> [String] {
        if let uri = URIParts(text) {
            guard let password = uri.password else { return [] }
            var forms = [password, decode(password)]
            if let user = uri.user { forms += ["\(user):\(password)", "\(decode(user)):\(decode(password))"] }
            return forms
        }
        return splitKeywords(text).password.map { [$0] } ?? []
    }

    static func decode(_ text: String) -> String { text.removingPercentEncoding ?? text }

    /// `postgresql://[user[:password]@]host…[/db][?k=v&…]`, read as libpq reads it: the user info
    /// ends at the first `@` before any `/`; `password=` in the query string counts too.
    struct URIParts {
        var scheme: String
        var user: String?
        var password: String?
        var rest: String
        var queryPassword: Bool

        init?(_ text: String) {
            guard let scheme = ["postgresql://", "postgres://"].first(where: { text.hasPrefix($0) }) else { return nil }
            self.scheme = scheme
            var body = String(text.dropFirst(scheme.count))
            let stop = body.firstIndex { $0 == "@" || $0 == "/" }
            if let stop, body[stop] == "@" {
                let info = body[..<stop]
                if let colon = info.firstIndex(of: ":") {
                    user = String(info[..<colon])
                    password = String(info[info.index(after: colon)...])
                } else {
                    user = String(info)
                }
                body = String(body[body.index(after: stop)...])
            }
            queryPassword = false
            if let question = body.firstIndex(of: "?") {
                var kept: [Substring] = []
                for item in body[body.index(after: question)...].split(separator: "&", omittingEmptySubsequences: false) {
                    if item.hasPrefix("password=") {
                        if password == nil { password = String(item.dropFirst("password=".count)) }
                        queryPassword = true
                    } else {
                        kept.append(item)
                    }
                }
                body = String(body[..<question]) + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&"))
            }
            rest = body
        }

        var withoutPassword: String { scheme + (user.map { "\($0)@" } ?? "") + rest }
    }

    /// `host=db password='x y' dbname=app`: values bare or single-quoted with `\` escapes.
    static func splitKeywords(_ text: String) -> (conninfo: String, password: String?) {
        var kept: [String] = []
        var password: String?
        var chars = Array(text)[...]
        func skipSpaces() { while let c = chars.first, c.isWhitespace { chars = chars.dropFirst() } }
        while true {
            skipSpaces()
            guard !chars.isEmpty else { break }
            var key = ""
            while let c = chars.first, c != "=", !c.isWhitespace { key.append(c); chars = chars.dropFirst() }
            skipSpaces()
            guard chars.first == "=" else { return (text, nil) }  // not key=value: leave it to libpq
            chars = chars.dropFirst()
            skipSpaces()
            var value = ""
            if chars.first == "'" {
                chars = chars.dropFirst()
                var closed = false
                while let c = chars.first {
                    chars = chars.dropFirst()
                    if c == "\\", let next = chars.first { value.append(next); chars = chars.dropFirst(); continue }
                    if c == "'" { closed = true; break }
                    value.append(c)
                }
                if !closed { return (text, nil) }
            } else {
                while let c = chars.first, !c.isWhitespace {
                    chars = chars.dropFirst()
                    if c == "\\", let next = chars.first { value.append(next); chars = chars.dropFirst(); continue }
                    value.append(c)
                }
            }
            if key == "password" {
                password = value
            } else {
                kept.append("\(key)='\(value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'"))'")
            }
        }
        return password == nil ? (text, nil) : (kept.joined(separator: " "), password)
    }
}
