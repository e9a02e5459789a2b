import Cache
import Testing

@testable import Gateway

@Suite struct FlightTableTests {
    private func key(_ n: UInt64) -> CacheKey { CacheKey(words: (n, 0, 0, 0)) }

    @Test func identicalMissesShareOneFlight() async {
        let table = FlightTable()
        var starts = 0
        var collapsedCount = 0
        var flights: [Flight] = []
        for _ in 0..<10 {
            let (flight, collapsed) = table.join(key: key(1), streaming: false) { _ in
                starts += 1
                return Task {}
            }
            flights.append(flight)
            if collapsed { collapsedCount += 1 }
        }
        #expect(starts == 1)
        #expect(collapsedCount == 9)
        #expect(flights.allSatisfy { $0 === flights[0] })
        #expect(table.count == 1)
        table.remove(flights[0])
        #expect(table.count == 0)
    }

    @Test func lateSubscriberGetsTheWholeStreamInOrder() async {
        let flight = Flight(key: key(2), streaming: true)
        flight.publish(.streamStarted(backend: "b"))
        flight.publish(.event(Array("1".utf8), isUsage: false))
        let early = flight.subscribe()
        flight.publish(.event(Array("2".utf8), isUsage: false))
        let late = flight.subscribe()
        flight.publish(.event(Array("u".utf8), isUsage: true))
        let entry = CachedResponse(
            metadata: EntryMetadata(
                key: key(2), tenant: "t", route: "r", endpoint: "chat", model: "m", createdAt: 0, expiresAt: 10),
            body: Array("{}".utf8)
        )
        flight.publish(.finished(.success(entry, stored: true, backend: "b")))
        let afterwards = flight.subscribe()

        for stream in [early, late, afterwards] {
            var payloads: [String] = []
            var finished = false
            for await event in stream {
                switch event {
                case .streamStarted: payloads.append("start")
                case .event(let bytes, _): payloads.append(String(decoding: bytes, as: UTF8.self))
                case .finished: finished = true
                }
            }
            #expect(payloads == ["start", "1", "2", "u"])
            #expect(finished)
        }
    }

    @Test func lastSubscriberLeavingCancelsTheCall() async throws {
        let flight = Flight(key: key(3), streaming: true)
        let call = Task<Void, Never> {
            while !Task.isCancelled { try? await Task.sleep(nanoseconds: 1_000_000) }
        }
        flight.attach(call)
        let consumer = Task {
            for await _ in flight.subscribe() {}
        }
        try await Task.sleep(nanoseconds: 20_000_000)
        #expect(flight.subscriberCount == 1)
        consumer.cancel()
        await consumer.value
        await call.value  // returns only because the call was cancelled
        #expect(call.isCancelled)
    }
}
