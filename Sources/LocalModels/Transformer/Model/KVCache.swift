import Synchronization

/// A bounded pool of fixed-size KV blocks shared by every sequence of one model.
///
/// A block holds the keys and values of `blockTokens` consecutive positions for every layer and
/// kv head. Sequences own blocks through a block table (`KVSequence`); blocks are reference
/// counted so that sequences can share a common prefix's blocks (a fork, or a radix tree of
/// prompts), and a sequence copies a shared block before writing into it. The memory is one
/// allocation of `capacityBlocks` blocks made up front; pages are only committed as blocks are
/// first written, and `bytesInUse` counts the blocks that sequences hold.
///
/// Inside a block, each (layer, K or V, kv head) has its `blockTokens x headDimension` values
/// contiguous, so attention for one head reads one run of memory per block.
public final class KVCache: @unchecked Sendable {
    /// How keys and values are stored.
    public enum Storage: Sendable, Equatable {
        /// Half the memory of `f32`; values round to 11 significant bits.
        case f16
        /// Exact: what llama.cpp's reference logits use (`--cache-type-k f32`).
        case f32

        public var bytesPerElement: Int {
            switch self {
            case .f16: 2
            case .f32: 4
            }
        }
    }

    public let layerCount: Int
    public let kvHeadCount: Int
    public let headDimension: Int
    /// Positions per block.
    public let blockTokens: Int
    public let storage: Storage
    public let capacityBlocks: Int
    /// Bytes of one block (all layers, keys and values).
    public let blockBytes: Int

    /// Bytes of one (layer, K or V, head) run inside a block.
    let headBytes: Int
    private let base: UnsafeMutableRawPointer
    let state: Mutex<KVBlockTable>

    /// Makes a pool of at most `maxBytes` of blocks.
    ///
    /// Throws `TransformerError.cacheFull` when not even one block fits in `maxBytes`.
    public init(
        layers: Int,
        kvHeads: Int,
        headDimension: Int,
        blockTokens: Int = 16,
        storage: Storage = .f16,
        maxBytes: Int
    ) throws {
        precondition(layers > 0 && kvHeads > 0 && headDimension > 0 && blockTokens > 0)
        layerCount = layers
        kvHeadCount = kvHeads
        self.headDimension = headDimension
        self.blockTokens = blockTokens
        self.storage = storage
        headBytes = blockTokens * headDimension * storage.bytesPerElement
        blockBytes = headBytes * 2 * kvHeads * layers
        capacityBlocks = maxBytes / blockBytes
        guard capacityBlocks > 0 else {
            throw TransformerError(.cacheFull, "\(maxBytes) bytes hold no block of \(blockBytes) bytes")
        }
        base = .allocate(byteCount: capacityBlocks * blockBytes, alignment: 64)
        state = Mutex(KVBlockTable(capacity: capacityBlocks))
    }

    deinit {
        base.deallocate()
    }

    /// Bytes of the blocks that sequences hold now.
    public var bytesInUse: Int { blocksInUse * blockBytes }
    public var blocksInUse: Int { state.withLock { $0.inUse } }
    public var capacityBytes: Int { capacityBlocks * blockBytes }

    /// A new, empty sequence in this cache.
    public func makeSequence() -> KVSequence {
        KVSequence(cache: self)
    }

    /// Whether this cache can hold a model of the configuration's shape.
    func fits(_ c: TransformerConfiguration) -> Bool {
        layerCount == c.blockCount && kvHeadCount == c.kvHeadCount && headDimension == c.headDimension
    }

    /// The keys of `head` in `layer` for the block's `blockTokens` slots, one row of
    /// `headDimension` elements per slot.
    @inline(__always)
    func keys(block: Int32, layer: Int, head: Int) -> UnsafeMutableRawPointer {
        base + Int(block) * blockBytes + ((layer * 2) * kvHeadCount + head) * headBytes
    }

    /// The values of `head` in `layer`, laid out as `keys`.
    @inline(__always)
    func values(block: Int32, layer: Int, head: Int) -> UnsafeMutableRawPointer {
        base + Int(block) * blockBytes + ((layer * 2 + 1) * kvHeadCount + head) * headBytes
    }

    func copyBlock(from source: Int32, to destination: Int32) {
        (base + Int(destination) * blockBytes).copyMemory(from: base + Int(source) * blockBytes, byteCount: blockBytes)
    }
}
