/// Replicas placed on a 64-bit hash ring, each at many virtual points, so that a key
/// keeps its replica as long as that replica exists, and removing one replica moves only
/// the keys it owned (about 1/n of them).
public struct ConsistentHashRing: Sendable, Hashable {
    /// The replicas, in the order given; ``order(for:)`` returns indices into this.
    public let replicas: [String]
    /// Ring positions, ascending, and the replica index at each.
    private let points: [UInt64]
    private let owners: [Int]

    /// - Parameter virtualNodes: points per replica; 160 keeps each replica's share
    ///   within a few percent of 1/n.
    public init(replicas: [String], virtualNodes: Int = 160) {
        self.replicas = replicas
        var placed: [(point: UInt64, owner: Int)] = []
        placed.reserveCapacity(replicas.count * max(virtualNodes, 1))
        for (index, replica) in replicas.enumerated() {
            for node in 0..<max(virtualNodes, 1) {
                placed.append((StableHash.hash("\(replica)#\(node)".utf8), index))
            }
        }
        // Ties (only possible with duplicate replica names) break by index for determinism.
        placed.sort { $0.point != $1.point ? $0.point < $1.point : $0.owner < $1.owner }
        self.points = placed.map(\.point)
        self.owners = placed.map(\.owner)
    }

    /// The replica index that owns `hash`: the first point at or after it, wrapping around.
    public func owner(for hash: UInt64) -> Int? {
        guard !points.isEmpty else { return nil }
        return owners[firstPoint(atOrAfter: hash)]
    }

    /// Every replica index once, in ring order starting at the owner of `hash`: the owner
    /// first, then the replicas that would take over its keys if it were gone.
    public func order(for hash: UInt64) -> [Int] {
        guard !points.isEmpty else { return [] }
        var result: [Int] = []
        result.reserveCapacity(replicas.count)
        var seen = [Bool](repeating: false, count: replicas.count)
        var position = firstPoint(atOrAfter: hash)
        for _ in 0..<points.count {
            let owner = owners[position]
            if !seen[owner] {
                seen[owner] = true
                result.append(owner)
                if result.count == replicas.count { break }
            }
            position = position + 1 == points.count ? 0 : position + 1
        }
        return result
    }

    private func firstPoint(atOrAfter hash: UInt64) -> Int {
        var low = 0
        var high = points.count
        while low < high {
            let mid = (low + high) / 2
            if points[mid] < hash { low = mid + 1 } else { high = mid }
        }
        return low == points.count ? 0 : low
    }
}
