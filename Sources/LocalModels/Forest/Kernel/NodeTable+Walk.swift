extension NodeTable {
    /// Moves `lanes` lanes, whose node offsets are in `cursor`, down `depth` levels. Lane
    /// `l` reads slot `l` of each column of `block` (one lane block), or slot 0 when
    /// `slotBytes` is 0 and every lane walks the same row.
    ///
    /// All lanes step together, level by level, so up to `lanes` independent chains of
    /// loads are in flight; fewer (eight lanes walking all levels in registers) measured
    /// a third slower. A step has no branch on the data: NaN direction is in the column a
    /// node reads (see `NodeTableBuilder.normalise`). Callers pass constants for `lanes`
    /// and `slotBytes`.
    ///
    /// After `settle` levels each level also notes whether any lane moved, and the walk
    /// stops at the first level where none did: every lane is then on a leaf.
    @inline(__always)
    func walk(
        block: UnsafeRawPointer,
        cursor: UnsafeMutablePointer<Int32>,
        depth: Int,
        settle: Int,
        lanes: Int,
        slotBytes: Int,
        shift: Int = 0
    ) {
        let base = UnsafeRawPointer(nodes.baseAddress!)
        let right = Int32(MemoryLayout<FastNode<Threshold>>.stride)
        @inline(__always)
        func step(_ lane: Int) -> Int32 {
            let node = base.load(fromByteOffset: Int(cursor[lane]), as: FastNode<Threshold>.self)
            let x = block.load(fromByteOffset: Int(node.column &>> shift) &+ lane &* slotBytes, as: Threshold.self)
            return node.left &+ (x <= node.threshold ? 0 : right)
        }
        let plain = min(depth, settle)
        for _ in 0..<plain {
            for lane in 0..<lanes { cursor[lane] = step(lane) }
        }
        for _ in plain..<depth {
            var moved: Int32 = 0
            for lane in 0..<lanes {
                let next = step(lane)
                moved |= next ^ cursor[lane]
                cursor[lane] = next
            }
            if moved == 0 { return }
        }
    }

    /// `walk` for a heap tree whose root is at byte offset `root`: every lane takes exactly
    /// `depth` steps, so the child is computed from the node's index and needs no load.
    /// `cursor` ends holding each lane's index on the leaf level plus `2^depth - 1`.
    @inline(__always)
    func walkHeap(
        root: Int32,
        block: UnsafeRawPointer,
        cursor: UnsafeMutablePointer<Int32>,
        depth: Int,
        lanes: Int,
        slotBytes: Int,
        shift: Int = 0
    ) {
        let tree = UnsafeRawPointer(heapNodes.baseAddress!) + Int(root)
        let stride = MemoryLayout<HeapNode<Threshold>>.stride
        cursor.update(repeating: 0, count: lanes)
        for _ in 0..<depth {
            for lane in 0..<lanes {
                let index = Int(cursor[lane])
                let node = tree.load(fromByteOffset: index &* stride, as: HeapNode<Threshold>.self)
                let x = block.load(fromByteOffset: Int(node.column &>> shift) &+ lane &* slotBytes, as: Threshold.self)
                cursor[lane] = Int32(truncatingIfNeeded: 2 &* index &+ (x <= node.threshold ? 1 : 2))
            }
        }
    }

    /// `walkHeap` with each lane in its own tree (all `depth` deep), whose root offsets are
    /// in `roots`.
    @inline(__always)
    func walkHeaps(
        roots: UnsafePointer<Int32>,
        block: UnsafeRawPointer,
        cursor: UnsafeMutablePointer<Int32>,
        depth: Int,
        lanes: Int,
        slotBytes: Int,
        shift: Int = 0
    ) {
        let base = UnsafeRawPointer(heapNodes.baseAddress!)
        let stride = MemoryLayout<HeapNode<Threshold>>.stride
        cursor.update(repeating: 0, count: lanes)
        for _ in 0..<depth {
            for lane in 0..<lanes {
                let index = Int(cursor[lane])
                let node = base.load(fromByteOffset: Int(roots[lane]) &+ index &* stride, as: HeapNode<Threshold>.self)
                let x = block.load(fromByteOffset: Int(node.column &>> shift) &+ lane &* slotBytes, as: Threshold.self)
                cursor[lane] = Int32(truncatingIfNeeded: 2 &* index &+ (x <= node.threshold ? 1 : 2))
            }
        }
    }

    /// Adds each lane's leaf in `plan`'s tree to the sums of row `lane` (`outputs` apart).
    @inline(__always)
    func addLeaves(
        _ plan: TreePlan,
        cursor: UnsafeMutablePointer<Int32>,
        lanes: Int,
        to sums: UnsafeMutablePointer<Score>
    ) {
        switch (plan.shape, plan.leaves) {
        case (.heap, .dense):
            let first = plan.payload - ((1 << plan.depth) - 1) * outputs
            for lane in 0..<lanes {
                addDense(values.baseAddress! + (first + Int(cursor[lane]) * outputs), to: sums + lane * outputs)
            }
        case (.heap, .single(let output)):
            let first = plan.payload - ((1 << plan.depth) - 1)
            for lane in 0..<lanes { sums[lane * outputs + output] += values[first + Int(cursor[lane])] }
        case (_, .dense):
            for lane in 0..<lanes {
                addDense(values.baseAddress! + payload(at: cursor[lane]), to: sums + lane * outputs)
            }
        case (_, .single(let output)):
            for lane in 0..<lanes { sums[lane * outputs + output] += values[payload(at: cursor[lane])] }
        case (_, .entries):
            for lane in 0..<lanes { addEntries(at: cursor[lane], to: sums + lane * outputs) }
        }
    }

    /// The payload index a linked leaf keeps in its threshold.
    @inline(__always)
    func payload(at offset: Int32) -> Int {
        UnsafeRawPointer(nodes.baseAddress!).load(fromByteOffset: Int(offset), as: Threshold.self).payloadIndex
    }

    /// Four outputs at a time as one vector add: each lane is still one IEEE addition of
    /// the same two numbers, so the sums are the same bits.
    @inline(__always)
    func addDense(_ from: UnsafePointer<Score>, to sums: UnsafeMutablePointer<Score>) {
        var output = 0
        while output + 4 <= outputs {
            let total =
                UnsafeRawPointer(sums + output).loadUnaligned(as: SIMD4<Score>.self)
                + UnsafeRawPointer(from + output).loadUnaligned(as: SIMD4<Score>.self)
            UnsafeMutableRawPointer(sums + output).storeBytes(of: total, as: SIMD4<Score>.self)
            output += 4
        }
        while output < outputs {
            sums[output] += from[output]
            output += 1
        }
    }

    @inline(__always)
    func addEntries(at offset: Int32, to sums: UnsafeMutablePointer<Score>) {
        let first = entries.baseAddress! + payload(at: offset)
        for entry in first + 1..<first + 1 + Int(first.pointee.output) {
            sums[Int(entry.pointee.output)] += entry.pointee.value
        }
    }
}
