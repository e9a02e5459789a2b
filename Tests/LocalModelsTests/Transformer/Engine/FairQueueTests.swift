import Testing

@testable import LocalModels

@Suite struct FairQueueTests {
    @Test func tenantsTakeTurnsAndEachKeepsItsOrder() {
        var queue = FairQueue<String>(capacity: 10)
        var accepted: [Bool] = []
        for i in 1...4 { accepted.append(queue.push("a\(i)", tenant: "a")) }
        accepted.append(queue.push("b1", tenant: "b"))
        accepted.append(queue.push("c1", tenant: "c"))
        accepted.append(queue.push("b2", tenant: "b"))
        #expect(accepted.allSatisfy { $0 })
        var order: [String] = []
        while let next = queue.pop() { order.append(next) }
        #expect(order == ["a1", "b1", "c1", "a2", "b2", "a3", "a4"])
        #expect(queue.isEmpty)
    }

    @Test func capacityIsABoundAndRemovalFreesRoom() {
        var queue = FairQueue<Int>(capacity: 3)
        let first = [queue.push(1, tenant: "x"), queue.push(2, tenant: "y"), queue.push(3, tenant: "x")]
        #expect(first == [true, true, true])
        let overflow = queue.push(4, tenant: "z")
        #expect(!overflow)
        let removed = queue.removeAll { $0 == 1 }
        #expect(removed == [1])
        #expect(queue.count == 2)
        let again = queue.push(4, tenant: "z")
        #expect(again)
        var order: [Int] = []
        while let next = queue.pop() { order.append(next) }
        // Tenant x keeps its turn (it still has 3 queued), then y, then z.
        #expect(order == [3, 2, 4])
    }
}
