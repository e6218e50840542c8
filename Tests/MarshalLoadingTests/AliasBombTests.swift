import Foundation
import MarshalCore
import Testing
@testable import MarshalLoading

/// YAML aliases that expand exponentially ("billion laughs") are refused at the alias, quickly and
/// in bounded memory, while ordinary sharing through anchors still loads.
@Suite("YAML alias bombs")
struct AliasBombTests {
    /// `levels` of aliases, `width` per level, as sequences or as mappings, in an environment's vars.
    static func bomb(levels: Int, width: Int = 9, mappings: Bool = false) -> String {
        var lines = ["version: 1", "environment: bomb", "hosts:", "  web1: { address: 127.0.0.1 }", "vars:"]
        lines.append("  l0: &l0 [" + Array(repeating: "\"lol-lol-lol-lol\"", count: width).joined(separator: ",") + "]")
        for level in 1...levels {
            let items = (0..<width).map { mappings ? "k\($0): *l\(level - 1)" : "*l\(level - 1)" }
            lines.append("  l\(level): &l\(level) " + (mappings ? "{" : "[") + items.joined(separator: ", ") + (mappings ? "}" : "]"))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test("8 and 12 levels of aliases (sequences and mappings) are refused as excessive aliasing, at the alias's line, in under 2 s",
          arguments: [(8, false), (12, false), (8, true), (12, true)])
    func refused(levels: Int, mappings: Bool) {
        let text = Self.bomb(levels: levels, mappings: mappings)
        #expect(text.utf8.count < 3000)
        let path = Repo.temporaryFile(text)
        let started = ContinuousClock.now
        let diagnostics = Loader(root: Repo.root).validate(paths: [path], environmentPath: nil)
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(diagnostics.count == 1)
        let first = diagnostics.first
        #expect(first?.message.hasPrefix("excessive aliasing: with alias *l") == true, "\(String(describing: first))")
        // The refusal points into the alias levels (lines 7 on), not at the top of the file.
        #expect((first?.location.line ?? 0) >= 7)
    }

    @Test("An alias of a nested structure used as a mapping key is refused before it is hashed whole")
    func aliasKeys() {
        let text = Self.bomb(levels: 8) + "  keys: { ? *l8 : 1, ? *l7 : 2 }\n"
        let started = ContinuousClock.now
        let diagnostics = Loader(root: Repo.root).validate(paths: [Repo.temporaryFile(text)], environmentPath: nil)
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(diagnostics.first?.message.hasPrefix("excessive aliasing") == true, "\(diagnostics)")
    }

    @Test("The refusal names the alias's own line and column")
    func position() {
        let text = Self.bomb(levels: 8)
        let diagnostics = Loader(root: Repo.root).validate(paths: [Repo.temporaryFile(text)], environmentPath: nil)
        let location = diagnostics.first?.location
        let line = text.split(separator: "\n", omittingEmptySubsequences: false)[(location?.line ?? 1) - 1]
        let at = line.dropFirst((location?.column ?? 1) - 1)
        #expect(at.hasPrefix("*l"), "\(String(describing: location)) points at '\(at.prefix(10))'")
    }

    @Test("Anchors shared a few times, as files use them, still load")
    func ordinaryAliases() {
        let text = """
        version: 1
        environment: shared
        ssh: &ssh { user: deploy, identity: /k, known_hosts: /kh, host_key_checking: strict }
        hosts:
          web1: { address: 10.0.0.1, vars: &web { app_dir: /srv/app, base_url: "http://10.0.0.1" } }
          web2: { address: 10.0.0.2, vars: *web }
          web3: { address: 10.0.0.3, vars: *web }
        vars: { shared: [*web, *web, *web] }

        """
        let diagnostics = Loader(root: Repo.root).validate(paths: [Repo.temporaryFile(text)], environmentPath: nil)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
    }

    @Test("The go-yaml rule: a small share of aliases is fine at any size, nearly all aliases is not")
    func ratio() {
        #expect(AliasScan.allowedRatio(1000) == 0.99)
        #expect(AliasScan.allowedRatio(4_000_000) == 0.10)
        #expect(abs(AliasScan.allowedRatio(2_200_000) - 0.545) < 0.001)
    }
}
