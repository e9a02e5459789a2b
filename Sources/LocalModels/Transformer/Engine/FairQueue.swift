/// A bounded queue that serves tenants in turn: each tenant's requests stay in order, and
/// the next request comes from the tenant after the one served last, so a tenant with a
/// hundred queued requests delays another tenant's single request by at most one turn.
struct FairQueue<Element> {
    private var lanes: [String: [Element]] = [:]
    /// Tenants with queued requests, in the order they will be served.
    private var order: [String] = []
    private(set) var count = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var isEmpty: Bool { count == 0 }
    var isFull: Bool { count >= capacity }

    /// False when the queue is full.
    mutating func push(_ element: Element, tenant: String) -> Bool {
        guard !isFull else { return false }
        if lanes[tenant, default: []].isEmpty { order.append(tenant) }
        lanes[tenant, default: []].append(element)
        count += 1
        return true
    }

    /// The request `pop` would return, left in place.
    var first: Element? {
        guard let tenant = order.first else { return nil }
        return lanes[tenant]?.first
    }

    /// The next request, from the tenant whose turn it is.
    mutating func pop() -> Element? {
        guard !order.isEmpty else { return nil }
        let tenant = order.removeFirst()
        var lane = lanes[tenant] ?? []
        let element = lane.removeFirst()
        if lane.isEmpty {
            lanes[tenant] = nil
        } else {
            lanes[tenant] = lane
            order.append(tenant)
        }
        count -= 1
        return element
    }

    /// Removes every element matching `predicate` and returns them.
    mutating func removeAll(where predicate: (Element) -> Bool) -> [Element] {
        var removed: [Element] = []
        for tenant in order {
            guard var lane = lanes[tenant] else { continue }
            let before = lane.count
            removed += lane.filter(predicate)
            lane.removeAll(where: predicate)
            count -= before - lane.count
            lanes[tenant] = lane.isEmpty ? nil : lane
        }
        order.removeAll { lanes[$0] == nil }
        return removed
    }
}
