/// A binary heap whose `first` is the element that `Element.outranks` puts ahead of all others.
///
/// llama.cpp's tokenizers merge from a `std::priority_queue`; any heap with the same strict order pops the same
/// sequence of still-valid entries, because two valid entries never compare equal.
struct PriorityQueue<Element: Ranked> {
    private(set) var storage: [Element] = []

    var isEmpty: Bool { storage.isEmpty }

    mutating func removeAll() {
        storage.removeAll(keepingCapacity: true)
    }

    /// Takes `elements` as the queue's contents in one O(n) pass (Floyd's heap construction).
    mutating func replace(with elements: [Element]) {
        storage = elements
        var index = storage.count / 2
        while index > 0 {
            index -= 1
            siftDown(from: index)
        }
    }

    private mutating func siftDown(from start: Int) {
        let element = storage[start]
        var index = start
        let count = storage.count
        while true {
            let left = 2 * index + 1
            guard left < count else { break }
            var best = left
            if left + 1 < count && storage[left + 1].outranks(storage[left]) { best = left + 1 }
            guard storage[best].outranks(element) else { break }
            storage[index] = storage[best]
            index = best
        }
        storage[index] = element
    }

    mutating func push(_ element: Element) {
        storage.append(element)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard element.outranks(storage[parent]) else { break }
            storage[child] = storage[parent]
            child = parent
        }
        storage[child] = element
    }

    mutating func pop() -> Element? {
        guard let last = storage.popLast() else { return nil }
        guard !storage.isEmpty else { return last }
        let top = storage[0]
        storage[0] = last
        siftDown(from: 0)
        return top
    }
}

protocol Ranked {
    /// Whether `self` pops before `other`.
    func outranks(_ other: Self) -> Bool
}
