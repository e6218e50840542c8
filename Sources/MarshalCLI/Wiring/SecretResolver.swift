import Foundation
import MarshalCore

/// Reads secret values from the process environment or files named by the environment file.
/// Values never leave as text: each becomes a `Secret`, which prints as ***.
struct SecretResolver {
    var processEnvironment: [String: String] = ProcessInfo.processInfo.environment

    enum Failure: Error, CustomStringConvertible {
        case missing(name: String, origin: String, location: SourceLocation)
        var description: String {
            switch self {
            case .missing(let name, let origin, let location):
                "\(location): error: secret '\(name)' has no value: \(origin)"
            }
        }
    }

    /// `strict` fails on a secret with no value (runs); otherwise an unset secret is an empty masked value (plans).
    func resolve(_ sources: [SecretSource], strict: Bool) -> (secrets: [String: Secret], failures: [Diagnostic]) {
        var secrets: [String: Secret] = [:]
        var failures: [Diagnostic] = []
        for source in sources {
            switch source.origin {
            case .environmentVariable(let variable):
                if let value = processEnvironment[variable] {
                    secrets[source.name] = Secret(name: source.name, value: value)
                } else {
                    if strict { failures.append(Diagnostic(.error, at: source.location, "secret '\(source.name)': environment variable \(variable) is not set")) }
                    secrets[source.name] = Secret(name: source.name, value: "")
                }
            case .file(let path):
                let expanded = Paths.expandTilde(path, home: processEnvironment["HOME"])
                if let data = FileManager.default.contents(atPath: expanded), let text = String(data: data, encoding: .utf8) {
                    // A trailing newline from `echo > file` is not part of the secret.
                    let value = text.hasSuffix("\n") ? String(text.dropLast()) : text
                    secrets[source.name] = Secret(name: source.name, value: value)
                } else {
                    if strict { failures.append(Diagnostic(.error, at: source.location, "secret '\(source.name)': cannot read file \(path)")) }
                    secrets[source.name] = Secret(name: source.name, value: "")
                }
            }
        }
        return (secrets, failures)
    }
}

enum Paths {
    static func expandTilde(_ path: String, home: String?) -> String {
        guard path.hasPrefix("~/"), let home else { return path }
        return home + path.dropFirst(1)
    }
}
