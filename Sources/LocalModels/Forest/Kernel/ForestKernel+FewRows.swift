extension ForestKernel {
    /// Fewer rows than a lane block: several trees walk together, lane `l` walking the
    /// group's tree `l / rows` for row `l % rows`.
    ///
    /// Trees walk in `NodeTable.walkOrder`, by depth, so a group of lopsided trees is not
    /// held up by its one deep member. When that is not model order, each row's leaves are
    /// kept and added afterwards in model order, as the reference adds them.
    @inline(__always)
    func walkFewRows(
        _ input: UnsafePointer<Double>,
        rows: Int,
        block: UnsafeMutablePointer<Threshold>,
        sums: UnsafeMutablePointer<Score>,
        _ scratch: Scratch
    ) {
        let stride = MemoryLayout<Threshold>.stride
        if rows == 1 {
            // One row needs one copy of its values, every lane reading the same ones: the
            // lane block shrinks to one value per column (see `singleRowShift`), small
            // enough for the stack. A row alone waits on memory more than it computes, so
            // with many trees, more lanes in flight pay for those the last group leaves empty.
            fillSingleRow(block, from: input)
            if table.walkOrder.count >= 4 * laneCount {
                walkGroups(
                    rows: 1,
                    lanes: laneCount,
                    block: block,
                    slotBytes: 0,
                    shift: Self.singleRowShift,
                    sums: sums,
                    scratch
                )
            } else {
                walkGroups(
                    rows: 1,
                    lanes: 16,
                    block: block,
                    slotBytes: 0,
                    shift: Self.singleRowShift,
                    sums: sums,
                    scratch
                )
            }
        } else if rows <= 16 {
            fill(block, from: input, rows: rows, slots: 16)
            walkGroups(rows: rows, lanes: 16, block: block, slotBytes: stride, shift: 0, sums: sums, scratch)
        } else {
            fill(block, from: input, rows: rows, slots: laneCount)
            walkGroups(rows: rows, lanes: laneCount, block: block, slotBytes: stride, shift: 0, sums: sums, scratch)
        }
        guard !table.walksInModelOrder else { return }
        for tree in plans.indices {
            let plan = plans[tree]
            guard plan.isCompiled else {
                for row in 0..<rows {
                    addReference(tree: tree, row: input + row * features, sums: sums + row * outputs)
                }
                continue
            }
            table.addLeaves(plan, cursor: scratch.leaves + tree * rows, lanes: rows, to: sums)
        }
    }

    /// Column offsets shifted right by this address a block with one value per column.
    static var singleRowShift: Int { laneCount.trailingZeroBitCount }

    /// One row as a one-slot lane block: each value at `column >> singleRowShift`.
    @inline(__always)
    func fillSingleRow(_ block: UnsafeMutablePointer<Threshold>, from row: UnsafePointer<Double>) {
        for feature in 0..<features {
            let x = Threshold(row[feature])
            block[feature] = x
            block[features + feature] = -x
        }
    }

    /// Walks every compiled tree for `rows` rows, in groups of `lanes / rows` trees, and
    /// adds each group's leaves at once when trees walk in model order, else keeps them in
    /// `scratch.leaves`. Heap lanes all take the same number of steps, so only equally deep
    /// heap trees share a walk.
    @inline(__always)
    func walkGroups(
        rows: Int,
        lanes: Int,
        block: UnsafeMutablePointer<Threshold>,
        slotBytes: Int,
        shift: Int,
        sums: UnsafeMutablePointer<Score>,
        _ scratch: Scratch
    ) {
        let inOrder = table.walksInModelOrder
        let order = table.walkOrder
        let perWalk = lanes / rows
        let cursor = scratch.cursor
        var start = 0
        while start < order.count {
            let first = plans[Int(order[start])]
            var end = start + 1
            while end < order.count, end - start < perWalk {
                let next = plans[Int(order[end])]
                guard next.shape == first.shape, first.shape != .heap || next.depth == first.depth else { break }
                end += 1
            }
            var depth = 0
            var settle = 0
            var lane = 0
            for member in start..<end {
                let plan = plans[Int(order[member])]
                depth = max(depth, plan.depth)
                settle = max(settle, plan.settle)
                for _ in 0..<rows {
                    cursor[lane] = plan.root
                    lane += 1
                }
            }
            for spare in lane..<lanes { cursor[spare] = first.root }
            if first.shape == .heap {
                let roots = cursor + laneCount
                roots.update(from: cursor, count: lanes)
                table.walkHeaps(
                    roots: roots,
                    block: UnsafeRawPointer(block),
                    cursor: cursor,
                    depth: depth,
                    lanes: lanes,
                    slotBytes: slotBytes,
                    shift: shift
                )
            } else {
                table.walk(
                    block: UnsafeRawPointer(block),
                    cursor: cursor,
                    depth: depth,
                    settle: settle,
                    lanes: lanes,
                    slotBytes: slotBytes,
                    shift: shift
                )
            }
            for member in start..<end {
                let tree = Int(order[member])
                let reached = cursor + (member - start) * rows
                if inOrder {
                    table.addLeaves(plans[tree], cursor: reached, lanes: rows, to: sums)
                } else {
                    (scratch.leaves + tree * rows).update(from: reached, count: rows)
                }
            }
            start = end
        }
    }
}
