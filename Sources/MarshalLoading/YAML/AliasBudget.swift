import MarshalCore
import Yams

/// Refuses documents whose aliases expand far beyond their text (the "billion laughs" shape).
/// Yams shares an anchored node among its aliases, so composing is cheap; every pass that walks
/// the tree (decoding, hashing, rendering) pays for the expanded size, which grows exponentially
/// with nested aliases. This walk counts nodes the way go-yaml's decoder does and stops as soon as
/// aliases make up too large a share of them, so it ends after a bounded number of steps
/// whatever the expanded size (go-yaml, decode.go `allowedAliasRatio`).
struct AliasBudget {
    /// Expanded nodes past which a document is refused whatever its alias share: no runbook or
    /// environment comes near it, and walking this many nodes takes milliseconds.
    static let maxNodes = 1_000_000

    private(set) var nodes = 0
    private(set) var aliased = 0
    private var defined = Set<ObjectIdentifier>()

    /// The share of aliased nodes allowed after `nodes` nodes: generous for small documents (where
    /// aliases are how YAML shares a block), strict for large ones.
    static func allowedRatio(_ nodes: Int) -> Double {
        if nodes <= 400_000 { return 0.99 }
        if nodes >= 4_000_000 { return 0.10 }
        return 0.99 - 0.89 * Double(nodes - 400_000) / 3_600_000
    }

    /// What went over the budget: the anchor whose expansion did, and where its alias is used.
    struct Excess: Error {
        let anchor: String
        let mark: Mark?
        let nodes: Int
    }

    /// Walks `root` (keep the `Parser` that made it alive: Yams holds anchors weakly).
    static func check(_ root: Node) -> Excess? {
        var budget = AliasBudget()
        do {
            try budget.walk(root, parent: nil, inAlias: nil)
            return nil
        } catch {
            return error
        }
    }

    /// `inAlias`: the anchor being expanded and the collection whose entry the alias is.
    private mutating func walk(_ node: Node, parent: Node?, inAlias: (anchor: String, mark: Mark?)?) throws(Excess) {
        var inAlias = inAlias
        if let anchor = node.anchor {
            let id = ObjectIdentifier(anchor)
            if defined.contains(id) {
                // The same anchored node met again: this is an alias. Yams drops the alias's own
                // position, so the collection holding it is named.
                if inAlias == nil { inAlias = (anchor.rawValue, parent?.mark ?? node.mark) }
            } else {
                defined.insert(id)
            }
        }
        nodes += 1
        if inAlias != nil { aliased += 1 }
        if let expanding = inAlias,
           nodes > Self.maxNodes || (aliased > 100 && nodes > 1000 && Double(aliased) > Double(nodes) * Self.allowedRatio(nodes)) {
            throw Excess(anchor: expanding.anchor, mark: expanding.mark, nodes: nodes)
        }
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                try walk(key, parent: node, inAlias: inAlias)
                try walk(value, parent: node, inAlias: inAlias)
            }
        case .sequence(let sequence):
            for element in sequence { try walk(element, parent: node, inAlias: inAlias) }
        case .scalar, .alias:
            break
        }
    }
}
