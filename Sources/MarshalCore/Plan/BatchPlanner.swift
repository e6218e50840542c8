/// Splits target hosts into rollout batches.
///
/// A count takes that many more hosts; a percentage takes hosts until that share of all targets
/// is reached (rounded up, at least one new host). Hosts left after the list is used up repeat the
/// last count, or all go in one final batch when the list ends with a percentage.
public enum BatchPlanner {
    public static func batches<T>(_ hosts: [T], sizes: [BatchSize]) -> [[T]] {
        guard !hosts.isEmpty else { return [] }
        var result: [[T]] = []
        var next = 0
        let total = hosts.count
        func take(_ n: Int) {
            let n = max(1, min(n, total - next))
            result.append(Array(hosts[next..<(next + n)]))
            next += n
        }
        for size in sizes where next < total {
            switch size {
            case .count(let n): take(n)
            case .percent(let p): take((total * p + 99) / 100 - next)
            }
        }
        while next < total {
            if case .count(let n)? = sizes.last { take(n) } else { take(total - next) }
        }
        return result
    }
}
