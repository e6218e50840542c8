import Foundation
import MarshalCore
import Yams

/// A number of hosts (`2`) or a share of them (`"25%"`), as `batches:` and `max_failures` write it.
enum HostShareText {
    /// `minimum` is the least count (and share, in percent) accepted; `sample` is the share quoted in errors.
    static func parse<T>(_ node: Node, reader: NodeReader, subject: String, minimum: Int, sample: String,
                         count: (Int) -> T, percent: (Int) -> T) -> T? {
        guard case .scalar(let scalar) = node else {
            reader.error("\(subject) must be a host count such as \(minimum) or a share such as \"\(sample)\", found \(reader.describe(node))", at: node)
            return nil
        }
        let text = scalar.string.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix("%"), let p = Int(text.dropLast()) {
            guard (minimum...100).contains(p) else {
                reader.error("\(subject) \"\(text)\" must be between \(minimum)% and 100%", at: node)
                return nil
            }
            return percent(p)
        }
        if let n = Int(text) {
            guard n >= minimum else {
                reader.error("\(subject) \(n) must be at least \(minimum) host\(minimum == 1 ? "" : "s")", at: node)
                return nil
            }
            return count(n)
        }
        reader.error("\(subject) '\(text)' is not a host count (\(minimum), \(minimum + 1), …) or a percentage (\"\(sample)\")", at: node)
        return nil
    }
}
