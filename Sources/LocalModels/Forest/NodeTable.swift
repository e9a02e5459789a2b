/// Number types the compiled kernel runs in, for thresholds and for sums.
protocol FastNumber: BinaryFloatingPoint, SIMDScalar, Sendable {
    init(_ value: Double)
    /// A linked leaf's threshold: a quiet NaN, which every comparison fails, carrying the
    /// index of the leaf's payload.
    init(payloadIndex: Int)
    var payloadIndex: Int { get }
    /// Payload indices a NaN can carry.
    static var payloadLimit: Int { get }
}

extension Float: FastNumber {
    init(payloadIndex: Int) { self.init(bitPattern: 0x7FC0_0000 | UInt32(payloadIndex)) }
    var payloadIndex: Int { Int(bitPattern & 0x003F_FFFF) }
    static var payloadLimit: Int { 1 << 22 }
}

extension Double: FastNumber {
    init(payloadIndex: Int) { self.init(bitPattern: 0x7FF8_0000_0000_0000 | UInt64(payloadIndex)) }
    var payloadIndex: Int { Int(bitPattern & 0x0007_FFFF_FFFF_FFFF) }
    static var payloadLimit: Int { 1 << 51 }
}

/// One node of a linked tree: `x <= threshold` goes to the child at byte offset `left`,
/// anything else (NaN included) to the one right after it. A leaf's threshold is a NaN
/// (see `FastNumber.init(payloadIndex:)`) and its `left` the slot before it, so every
/// step from a leaf lands on the leaf again and a finished lane stays where it is.
///
/// `column` is the byte offset of the value the node reads within a lane block and
/// `left` a byte offset into the node table, so a step is two loads, one comparison and
/// an add. A split that sends NaN left reads the negated column instead (see
/// `NodeTableBuilder.normalise`), which is how NaN direction costs nothing per step.
struct FastNode<Threshold: FastNumber> {
    var threshold: Threshold
    var column: UInt32
    var left: Int32
}

/// Rows walked through one tree in lock step. A lane block holds, for each feature, the
/// values of its `laneCount` rows contiguously (two cache lines of floats), then the same
/// again negated; lanes at the same feature read the same line.
let laneCount = 32

/// How one tree's leaves add to the sums. The dense and single forms read one contiguous
/// run of values; `entries` is the general list.
enum LeafLayout: Sendable, Equatable {
    /// Every leaf adds one value to each of the model's outputs, in output order (a random
    /// forest classifier's class weights). Outputs a leaf does not list add `-0.0`, which
    /// leaves every sum, signed zeros included, unchanged.
    case dense
    /// Every leaf adds one value to this output (boosted trees, one tree per class).
    case single(output: Int)
    /// Leaves list `(output, value)` pairs; the first entry holds the count.
    case entries
}

/// How one tree is evaluated.
struct TreePlan: Sendable {
    enum Shape: Sendable, Equatable {
        /// Splits the compiled form cannot express: walked by `ReferenceEvaluator`.
        case reference
        /// `FastNode`s with child offsets; leaves loop on themselves.
        case linked
        /// A complete tree of `depth` levels of `HeapNode`s, children of node `i` at
        /// `2i + 1` and `2i + 2`; shallower leaves are padded down with copies.
        case heap
    }

    var shape: Shape
    /// Byte offset of the root in `nodes` (linked) or `heapNodes` (heap).
    var root: Int32
    /// Steps from the root to the deepest leaf.
    var depth: Int
    /// Linked trees: steps walked before a walk starts watching for every lane having
    /// reached its leaf, which in a lopsided tree comes well before `depth`.
    var settle: Int = .max
    var leaves: LeafLayout
    /// Heap trees: index in `values` of the payload of the leaf level's first slot.
    var payload: Int = 0

    var isCompiled: Bool { shape != .reference }

    static let reference = TreePlan(shape: .reference, root: 0, depth: 0, leaves: .entries)
}

/// A split of a heap tree: it needs no children, so it is half a `FastNode`.
struct HeapNode<Threshold: FastNumber> {
    var threshold: Threshold
    var column: UInt32
}

/// One value a leaf adds, for `LeafLayout.entries`.
struct LeafEntry<Score: FastNumber> {
    var output: Int32
    var value: Score
}

/// The compiled nodes of every tree, and the leaves' values, each in one allocation.
final class NodeTable<Threshold: FastNumber, Score: FastNumber>: @unchecked Sendable {
    let trees: [TreePlan]
    /// The compiled trees' indices by shape and depth: the order in which few rows walk
    /// them, several trees at a time.
    let walkOrder: [Int32]
    /// Every tree is compiled and `walkOrder` is model order, so few rows can add each
    /// group's leaves as soon as it has walked.
    let walksInModelOrder: Bool
    let outputs: Int
    let nodes: UnsafeMutableRawBufferPointer
    let heapNodes: UnsafeMutableRawBufferPointer
    /// Dense and single leaves' values.
    let values: UnsafeMutableBufferPointer<Score>
    let entries: UnsafeMutableBufferPointer<LeafEntry<Score>>

    /// Trees up to `heapDepthLimit` levels are laid out complete (`TreePlan.Shape.heap`);
    /// a complete tree doubles with every level, so deeper ones are linked.
    init(model: ForestModel, heapDepthLimit: Int = 12) {
        var builder = NodeTableBuilder<Threshold, Score>(
            outputs: model.outputCount,
            features: model.featureCount,
            heapDepthLimit: heapDepthLimit
        )
        let trees = model.trees.map { builder.add($0) }
        self.trees = trees
        walkOrder = trees.indices.filter { trees[$0].isCompiled }
            .sorted {
                (trees[$0].shape == .heap ? 0 : 1, trees[$0].depth, $0) < (
                    trees[$1].shape == .heap ? 0 : 1, trees[$1].depth, $1
                )
            }
            .map { Int32($0) }
        walksInModelOrder = walkOrder.elementsEqual((0..<Int32(trees.count)))
        outputs = model.outputCount
        nodes = Self.copyBytes(builder.nodes)
        heapNodes = Self.copyBytes(builder.heapNodes)
        values = Self.copy(builder.values)
        entries = Self.copy(builder.entries)
    }

    deinit {
        nodes.deallocate()
        heapNodes.deallocate()
        values.deallocate()
        entries.deallocate()
    }

    /// Cache-line aligned, so a node never straddles two lines.
    private static func copyBytes<Element>(_ array: [Element]) -> UnsafeMutableRawBufferPointer {
        let buffer = UnsafeMutableRawBufferPointer.allocate(
            byteCount: max(array.count, 1) * MemoryLayout<Element>.stride,
            alignment: 64
        )
        array.withUnsafeBytes { buffer.copyMemory(from: $0) }
        return buffer
    }

    private static func copy<Element>(_ array: [Element]) -> UnsafeMutableBufferPointer<Element> {
        let buffer = UnsafeMutableBufferPointer<Element>.allocate(capacity: max(array.count, 1))
        _ = buffer.initialize(from: array)
        return buffer
    }
}
