extension MemoryTier {
    /// Which list a node is on. The three lists' sentinels sit at indices 0, 1 and 2 of the
    /// node array (their raw values); `free` nodes are chained on the shard's free list.
    enum Queue: UInt8 {
        case window = 0
        case probation = 1
        case protected = 2
        case free
        case sentinel

        var sentinel: Int { Int(rawValue) }
    }

    /// One slot of the shard's node array. Links are indices into that array, so the lists
    /// cost no allocation per entry and relinking touches no reference counts. Each list is
    /// circular through its sentinel, so linking never branches on an empty end.
    struct Node {
        var key: CacheKey
        var entry: CachedResponse?
        /// Copied out of the entry so sweeps need not chase the pointer.
        var expiresAt: Double
        var bytes: Int
        var prev: Int
        var next: Int
        var queue: Queue
    }

    /// The shard's dictionary key. It hashes one word of the digest rather than all four: the
    /// digest is already uniform and `Hasher` is seeded per process, so one word costs nothing
    /// in collisions or flooding resistance, and the hit path hashes 8 bytes instead of 32.
    struct IndexKey: Hashable {
        let key: CacheKey

        init(_ key: CacheKey) {
            self.key = key
        }

        static func == (lhs: IndexKey, rhs: IndexKey) -> Bool {
            lhs.key == rhs.key
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(key.w1)
        }
    }

    struct Counters {
        var hits = 0
        var misses = 0
        var evictions = 0
        var expirations = 0
        var admissionsRejected = 0
    }

    /// One shard's state, always used under its mutex.
    ///
    /// W-TinyLFU as in Caffeine, without the adaptive window: new entries enter a small LRU
    /// window (~1% of the bytes) so that bursts get a chance to prove themselves; an entry
    /// pushed out of the window becomes a candidate for the main segmented LRU and gets in
    /// only if the sketch says it is requested more often than the entry it would push out.
    /// A one-pass scan therefore churns the window and the probation segment but cannot
    /// displace the protected segment (80% of main), which holds entries hit again after
    /// they were admitted.
    struct Shard {
        /// Candidates at least this popular win a tie now and then (1 in 128), so an attacker
        /// who floods a victim's sketch counters cannot lock new entries out for good.
        static let hashFloodThreshold = 6

        let capacity: Int
        let windowCapacity: Int
        let protectedCapacity: Int
        let expectedEntryBytes: Int

        var index: [IndexKey: Int] = [:]
        var nodes: [Node]
        var freeHead = -1
        var windowBytes = 0
        var probationBytes = 0
        var protectedBytes = 0
        var sketch: FrequencySketch
        var counters = Counters()
        var random: UInt64

        init(capacity: Int, expectedEntryBytes: Int, seed: UInt64) {
            self.capacity = max(0, capacity)
            self.windowCapacity = max(1, self.capacity / 100)
            self.protectedCapacity = (self.capacity - windowCapacity) * 4 / 5
            self.expectedEntryBytes = max(1, expectedEntryBytes)
            self.sketch = FrequencySketch(expectedEntries: max(16, self.capacity / self.expectedEntryBytes))
            self.random = seed | 1
            let sentinels: [Queue] = [.window, .probation, .protected]
            self.nodes = sentinels.map { queue in
                Node(
                    key: CacheKey(words: (0, 0, 0, 0)),
                    entry: nil,
                    expiresAt: .infinity,
                    bytes: 0,
                    prev: queue.sentinel,
                    next: queue.sentinel,
                    queue: .sentinel
                )
            }
        }

        var bytes: Int { windowBytes + probationBytes + protectedBytes }

        // MARK: Operations

        mutating func get(_ key: CacheKey, now: Double) -> CachedResponse? {
            // Misses count too: a key asked for again and again should win admission.
            sketch.increment(key)
            guard let i = index[IndexKey(key)] else {
                counters.misses += 1
                return nil
            }
            if nodes[i].expiresAt <= now {
                remove(at: i)
                counters.expirations += 1
                counters.misses += 1
                return nil
            }
            counters.hits += 1
            onAccess(i)
            return nodes[i].entry
        }

        mutating func put(_ entry: CachedResponse, now: Double) -> Bool {
            let key = entry.key
            let bytes = entry.byteCount
            // A store is a request too: a refresh (`no-cache`) stores without asking first.
            sketch.increment(key)
            guard bytes <= capacity, entry.metadata.expiresAt > now else {
                // The old value is stale either way; keeping it would answer with it.
                if let i = index[IndexKey(key)] { remove(at: i) }
                if bytes > capacity { counters.admissionsRejected += 1 }
                return false
            }
            if let i = index[IndexKey(key)] {
                let delta = bytes - nodes[i].bytes
                nodes[i].entry = entry
                nodes[i].bytes = bytes
                nodes[i].expiresAt = entry.metadata.expiresAt
                addBytes(delta, to: nodes[i].queue)
                onAccess(i)
            } else {
                let i = allocate(
                    Node(
                        key: key,
                        entry: entry,
                        expiresAt: entry.metadata.expiresAt,
                        bytes: bytes,
                        prev: -1,
                        next: -1,
                        queue: .free
                    )
                )
                index[IndexKey(key)] = i
                insert(i, into: .window)
                if index.count > sketch.capacity {
                    sketch.ensureCapacity(index.count * 2)
                }
            }
            evictFromMain(candidates: evictFromWindow())
            return index[IndexKey(key)] != nil
        }

        @discardableResult
        mutating func remove(_ key: CacheKey) -> Bool {
            guard let i = index[IndexKey(key)] else { return false }
            remove(at: i)
            return true
        }

        /// Keys of live nodes matching `selector`; a key selector is a single lookup.
        func matching(_ selector: PurgeSelector, now: Double, includeExpired: Bool) -> [Int] {
            if let key = selector.key {
                guard let i = index[IndexKey(key)], let entry = nodes[i].entry else { return [] }
                guard includeExpired || nodes[i].expiresAt > now else { return [] }
                return selector.matches(entry.metadata, now: now) ? [i] : []
            }
            var found: [Int] = []
            for i in nodes.indices where nodes[i].entry != nil {
                guard includeExpired || nodes[i].expiresAt > now, let entry = nodes[i].entry else { continue }
                if selector.matches(entry.metadata, now: now) { found.append(i) }
            }
            return found
        }

        mutating func purge(_ selector: PurgeSelector, now: Double) -> [CacheKey] {
            let found = matching(selector, now: now, includeExpired: true)
            var keys: [CacheKey] = []
            keys.reserveCapacity(found.count)
            for i in found {
                keys.append(nodes[i].key)
                remove(at: i)
            }
            return keys
        }

        mutating func removeExpired(now: Double) -> Int {
            var removed = 0
            for i in nodes.indices where nodes[i].entry != nil && nodes[i].expiresAt <= now {
                remove(at: i)
                removed += 1
            }
            counters.expirations += removed
            return removed
        }

        // MARK: Policy

        /// A hit moves the node to the most-recent end of its segment; a second hit while on
        /// probation promotes it to protected, which may demote protected's oldest back.
        mutating func onAccess(_ i: Int) {
            switch nodes[i].queue {
            case .window, .protected:
                moveToTail(i)
            case .probation:
                move(i, to: .protected)
                while protectedBytes > protectedCapacity, let demoted = head(.protected) {
                    move(demoted, to: .probation)
                }
            case .free, .sentinel:
                break
            }
        }

        /// Moves the window's oldest nodes to the young end of probation; returns how many.
        mutating func evictFromWindow() -> Int {
            var candidates = 0
            while windowBytes > windowCapacity, let oldest = head(.window) {
                move(oldest, to: .probation)
                candidates += 1
            }
            return candidates
        }

        /// Caffeine's `evictFromMain`: while over capacity, the oldest probation node (victim)
        /// meets the newest candidate; the less frequent one leaves. When one side runs out
        /// the other is evicted outright; protected and then window nodes are victims last.
        mutating func evictFromMain(candidates initialCandidates: Int) {
            var candidates = initialCandidates
            var victimQueue = Queue.probation
            var candidateQueue = Queue.probation
            var victim = head(.probation) ?? -1
            var candidate = tail(.probation) ?? -1
            while bytes > capacity {
                if candidates <= 0, candidateQueue == .probation {
                    candidate = head(.window) ?? -1
                    candidateQueue = .window
                }
                if candidate == -1, victim == -1 {
                    if victimQueue == .probation {
                        victim = head(.protected) ?? -1
                        victimQueue = .protected
                        continue
                    } else if victimQueue == .protected {
                        victim = head(.window) ?? -1
                        victimQueue = .window
                        continue
                    }
                    break
                }
                if victim == -1 {
                    let evicted = candidate
                    candidate = before(candidate)
                    candidates -= 1
                    evict(evicted)
                    continue
                }
                if candidate == -1 {
                    let evicted = victim
                    victim = after(victim)
                    evict(evicted)
                    continue
                }
                if candidate == victim {
                    victim = after(victim)
                    evict(candidate)
                    candidate = -1
                    candidates -= 1
                    continue
                }
                candidates -= 1
                if admit(candidate: candidate, victim: victim) {
                    let evicted = victim
                    victim = after(victim)
                    evict(evicted)
                    // Read after the eviction: the victim may have been the candidate's neighbour.
                    candidate = before(candidate)
                } else {
                    let rejected = candidate
                    candidate = candidates > 0 ? before(candidate) : -1
                    remove(at: rejected)
                    counters.admissionsRejected += 1
                }
            }
        }

        mutating func admit(candidate: Int, victim: Int) -> Bool {
            let victimFrequency = sketch.frequency(nodes[victim].key)
            let candidateFrequency = sketch.frequency(nodes[candidate].key)
            if candidateFrequency > victimFrequency { return true }
            if candidateFrequency >= Self.hashFloodThreshold {
                return nextRandom() & 127 == 0
            }
            return false
        }

        mutating func nextRandom() -> UInt64 {
            // xorshift64: cheap, and seeded per shard so tests are repeatable.
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            return random
        }

        mutating func evict(_ i: Int) {
            remove(at: i)
            counters.evictions += 1
        }

        // MARK: Lists

        /// The least recently used node of `queue`.
        func head(_ queue: Queue) -> Int? {
            let first = nodes[queue.sentinel].next
            return first == queue.sentinel ? nil : first
        }

        /// The most recently used node of `queue`.
        func tail(_ queue: Queue) -> Int? {
            let last = nodes[queue.sentinel].prev
            return last == queue.sentinel ? nil : last
        }

        /// The next more recent node on the same list, or -1 at the end.
        func after(_ i: Int) -> Int {
            let next = nodes[i].next
            return nodes[next].queue == .sentinel ? -1 : next
        }

        /// The next less recent node on the same list, or -1 at the start.
        func before(_ i: Int) -> Int {
            let prev = nodes[i].prev
            return nodes[prev].queue == .sentinel ? -1 : prev
        }

        mutating func addBytes(_ delta: Int, to queue: Queue) {
            switch queue {
            case .window: windowBytes += delta
            case .probation: probationBytes += delta
            case .protected: protectedBytes += delta
            case .free, .sentinel: break
            }
        }

        mutating func allocate(_ node: Node) -> Int {
            if freeHead != -1 {
                let i = freeHead
                freeHead = nodes[i].next
                nodes[i] = node
                return i
            }
            nodes.append(node)
            return nodes.count - 1
        }

        /// Links a new node at the young end of `queue`.
        mutating func insert(_ i: Int, into queue: Queue) {
            nodes.withUnsafeMutableBufferPointer { nodes in
                nodes[i].queue = queue
                Self.link(i, before: queue.sentinel, nodes)
            }
            addBytes(nodes[i].bytes, to: queue)
        }

        /// Unlinks the node, drops its key and entry, and puts the slot on the free list.
        mutating func remove(at i: Int) {
            let queue = nodes[i].queue
            guard queue != .free, queue != .sentinel else { return }
            addBytes(-nodes[i].bytes, to: queue)
            index.removeValue(forKey: IndexKey(nodes[i].key))
            let freeHead = self.freeHead
            nodes.withUnsafeMutableBufferPointer { nodes in
                Self.unlink(i, nodes)
                nodes[i].entry = nil
                nodes[i].queue = .free
                nodes[i].prev = -1
                nodes[i].next = freeHead
            }
            self.freeHead = i
        }

        /// To the young end of another list.
        mutating func move(_ i: Int, to queue: Queue) {
            let from = nodes[i].queue
            let bytes = nodes[i].bytes
            nodes.withUnsafeMutableBufferPointer { nodes in
                Self.unlink(i, nodes)
                nodes[i].queue = queue
                Self.link(i, before: queue.sentinel, nodes)
            }
            addBytes(-bytes, to: from)
            addBytes(bytes, to: queue)
        }

        /// To the young end of its own list: the hit path, so one buffer access, no branches.
        mutating func moveToTail(_ i: Int) {
            nodes.withUnsafeMutableBufferPointer { nodes in
                let sentinel = nodes[i].queue.sentinel
                guard nodes[sentinel].prev != i else { return }
                Self.unlink(i, nodes)
                Self.link(i, before: sentinel, nodes)
            }
        }

        @inline(__always)
        static func unlink(_ i: Int, _ nodes: UnsafeMutableBufferPointer<Node>) {
            let prev = nodes[i].prev
            let next = nodes[i].next
            nodes[prev].next = next
            nodes[next].prev = prev
        }

        @inline(__always)
        static func link(_ i: Int, before successor: Int, _ nodes: UnsafeMutableBufferPointer<Node>) {
            let prev = nodes[successor].prev
            nodes[prev].next = i
            nodes[i].prev = prev
            nodes[i].next = successor
            nodes[successor].prev = i
        }
    }
}
