import Foundation

/// Replaces every secret's value — and its base64 and URL-encoded forms — with `***` in bytes
/// that came from a host, before they are shown, journaled, registered or reported.
public struct SecretMasker: Sendable {
    private let needles: [[UInt8]]
    private static let mask = Array(Secret.mask.utf8)

    public init(_ secrets: [Secret]) {
        var forms = Set<[UInt8]>()
        for secret in secrets {
            // A program may echo a part of a secret (psql: `invalid percent-encoded token: "pa%zz"`),
            // so a URL's password and user:password, as written and decoded, are hidden too.
            for value in [secret.reveal()] + Self.components(of: secret.reveal()) {
                // Very short values would mask ordinary text everywhere; they cannot be hidden by value.
                guard value.utf8.count >= 4 else { continue }
                forms.insert(Array(value.utf8))
                let base64 = Data(value.utf8).base64EncodedString()
                forms.insert(Array(base64.utf8))
                forms.insert(Array(base64.trimmingCharacters(in: CharacterSet(charactersIn: "=")).utf8))
                if let encoded = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) { forms.insert(Array(encoded.utf8)) }
                if let encoded = value.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) { forms.insert(Array(encoded.utf8)) }
            }
        }
        // Longest first, so a value is masked whole before a shorter form inside it.
        needles = forms.filter { !$0.isEmpty }.sorted { $0.count > $1.count }
    }

    /// The parts of a secret worth hiding on their own: in any `scheme://user:password@host` URL
    /// the password and `user:password` (as written and percent-decoded); in a PostgreSQL
    /// `key=value` string the password.
    static func components(of value: String) -> [String] {
        var parts = PostgresConnection.secretComponents(of: value)
        if parts.isEmpty, let scheme = value.range(of: "://") {
            let rest = value[scheme.upperBound...]
            if let stop = rest.firstIndex(where: { $0 == "@" || $0 == "/" }), rest[stop] == "@" {
                let info = String(rest[..<stop])
                parts += [info, PostgresConnection.decode(info)]
                if let colon = info.firstIndex(of: ":") {
                    let password = String(info[info.index(after: colon)...])
                    parts += [password, PostgresConnection.decode(password)]
                }
            }
        }
        return parts
    }

    public var isEmpty: Bool { needles.isEmpty }

    public func mask(_ bytes: [UInt8]) -> [UInt8] {
        guard !needles.isEmpty, !bytes.isEmpty else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        let n = bytes.count
        outer: while i < n {
            let b = bytes[i]
            for needle in needles where needle[0] == b && needle.count <= n - i {
                var matched = true
                var k = 1
                while k < needle.count {
                    if bytes[i + k] != needle[k] { matched = false; break }
                    k += 1
                }
                if matched {
                    out.append(contentsOf: Self.mask)
                    i += needle.count
                    continue outer
                }
            }
            out.append(b)
            i += 1
        }
        return out
    }

    public func mask(_ text: String) -> String {
        needles.isEmpty ? text : String(decoding: mask(Array(text.utf8)), as: UTF8.self)
    }
}
