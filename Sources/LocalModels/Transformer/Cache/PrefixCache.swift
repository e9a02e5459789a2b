import Synchronization

/// KV blocks of earlier sequences kept for later ones: a radix tree whose edges are whole KV
/// blocks of tokens (`blockTokens` token ids each), one tree per scope (a tenant, or a route's
/// shared scope), so a prompt never reuses another tenant's state.
///
/// Each node holds one reference on the block that stores its tokens' keys and values. A new
/// request takes the longest run of whole blocks its prompt shares with the tree (always leaving
/// at least one token to compute, for its logits) and evaluates only the rest. The tree holds at
/// most `capacityBlocks` blocks; past that, and whenever the KV pool runs short, the least
/// recently used leaves that no sequence is using are dropped first.
///
/// Blocks are only ever written past a sequence's stored positions, and a sequence taken from
/// the tree holds whole blocks only, so a shared block is never written while shared.
public final class PrefixCache: Sendable {
    public let cache: KVCache
    public let capacityBlocks: Int
    private let state: Mutex<Tree>

    public init(cache: KVCache, capacityBlocks: Int) {
        self.cache = cache
        self.capacityBlocks = max(0, capacityBlocks)
        self.state = Mutex(Tree())
    }

    /// What the tree holds and how it has been used.
    public struct Statistics: Sendable, Hashable {
        public var blocks = 0
        public var lookups = 0
        public var reusedTokens = 0
        public var evictedBlocks = 0
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// A sequence that already holds the longest cached prefix of `tokens` in `scope`, in whole
    /// blocks and at most `tokens.count - 1` positions; `reused` is how many.
    public func sequence(reusing tokens: [Int32], scope: String) -> (sequence: KVSequence, reused: Int) {
        let width = cache.blockTokens
        let usable = max(0, (tokens.count - 1) / width)
        let blocks: [Int32] = state.withLock { tree in
            tree.statistics.lookups += 1
            tree.clock &+= 1
            guard usable > 0, var node = tree.roots[scope] else { return [] }
            var found: [Int32] = []
            for index in 0..<usable {
                let key = Array(tokens[(index * width)..<((index + 1) * width)])
                guard let child = node.children[key] else { break }
                child.lastUsed = tree.clock
                found.append(child.block)
                node = child
            }
            tree.statistics.reusedTokens += found.count * width
            return found
        }
        let sequence = cache.makeSequence()
        if !blocks.isEmpty {
            cache.state.withLock { $0.retain(blocks) }
            sequence.blocks = blocks
            sequence.count = blocks.count * width
        }
        return (sequence, blocks.count * width)
    }

    /// Offers the whole blocks of `sequence` (whose positions hold `tokens`) to the tree; blocks
    /// already there are kept as they are.
    public func store(_ sequence: KVSequence, tokens: [Int32], scope: String) {
        guard capacityBlocks > 0 else { return }
        let width = cache.blockTokens
        let whole = min(sequence.count, tokens.count) / width
        guard whole > 0 else { return }
        var retained: [Int32] = []
        state.withLock { tree in
            tree.clock &+= 1
            let root = tree.root(scope)
            var node = root
            for index in 0..<whole {
                let key = Array(tokens[(index * width)..<((index + 1) * width)])
                if let child = node.children[key] {
                    child.lastUsed = tree.clock
                    node = child
                    continue
                }
                let child = Node(key: key, block: sequence.blocks[index], parent: node, lastUsed: tree.clock)
                node.children[key] = child
                retained.append(child.block)
                tree.statistics.blocks += 1
                node = child
            }
            if !retained.isEmpty { cache.state.withLock { $0.retain(retained) } }
            if tree.statistics.blocks > capacityBlocks {
                evict(&tree, count: tree.statistics.blocks - capacityBlocks)
            }
        }
    }

    /// Drops unused leaves until the KV pool has `blocks` free blocks (or nothing more can go).
    public func makeRoom(forBlocks blocks: Int) {
        let missing = blocks - cache.state.withLock { $0.freeCount }
        guard missing > 0 else { return }
        state.withLock { tree in evict(&tree, count: missing) }
    }

    /// Forgets every node (a model reload, or to free memory now).
    public func removeAll() {
        state.withLock { tree in
            var blocks: [Int32] = []
            for root in tree.roots.values { Self.collect(root, into: &blocks) }
            if !blocks.isEmpty { cache.state.withLock { $0.release(blocks) } }
            tree.roots.removeAll()
            tree.statistics.evictedBlocks += blocks.count
            tree.statistics.blocks = 0
        }
    }

    // MARK: The tree

    private final class Node {
        let key: [Int32]
        let block: Int32
        unowned(unsafe) let parent: Node?
        var children: [[Int32]: Node] = [:]
        var lastUsed: UInt64

        init(key: [Int32], block: Int32, parent: Node?, lastUsed: UInt64) {
            self.key = key
            self.block = block
            self.parent = parent
            self.lastUsed = lastUsed
        }
    }

    private struct Tree: ~Copyable {
        var roots: [String: Node] = [:]
        var clock: UInt64 = 0
        var statistics = Statistics()

        mutating func root(_ scope: String) -> Node {
            if let root = roots[scope] { return root }
            let root = Node(key: [], block: -1, parent: nil, lastUsed: clock)
            roots[scope] = root
            return root
        }
    }

    /// Releases up to `count` blocks, least recently used unreferenced leaves first; a parent
    /// whose last child went becomes a leaf in turn.
    private func evict(_ tree: inout Tree, count: Int) {
        var leaves: [Node] = []
        for root in tree.roots.values { Self.leaves(root, into: &leaves) }
        leaves.sort { $0.lastUsed < $1.lastUsed }
        var released: [Int32] = []
        cache.state.withLock { table in
            var index = 0
            while released.count < count, index < leaves.count {
                let leaf = leaves[index]
                index += 1
                // A block some sequence is still using would not be freed by dropping it.
                guard table.referenceCount(leaf.block) == 1, let parent = leaf.parent else { continue }
                parent.children[leaf.key] = nil
                released.append(leaf.block)
                table.release(CollectionOfOne(leaf.block))
                if parent.children.isEmpty, parent.parent != nil {
                    // Now a leaf itself, and no more recently used than the child it had.
                    let position = leaves[index...].firstIndex { $0.lastUsed > parent.lastUsed } ?? leaves.count
                    leaves.insert(parent, at: position)
                }
            }
        }
        tree.statistics.blocks -= released.count
        tree.statistics.evictedBlocks += released.count
        for (scope, root) in tree.roots where root.children.isEmpty { tree.roots[scope] = nil }
    }

    private static func leaves(_ node: Node, into out: inout [Node]) {
        if node.children.isEmpty, node.parent != nil {
            out.append(node)
            return
        }
        for child in node.children.values { leaves(child, into: &out) }
    }

    private static func collect(_ node: Node, into out: inout [Int32]) {
        if node.parent != nil { out.append(node.block) }
        for child in node.children.values { collect(child, into: &out) }
    }
}
