import Testing

@testable import Router

@Suite struct FailureSetTests {
    @Test func containsMatchesStatusesAndWords() {
        let set = FailureSet(statuses: [429, 503], timeout: true)
        #expect(set.contains(.status(429)))
        #expect(set.contains(.status(503)))
        #expect(!set.contains(.status(500)))
        #expect(set.contains(.timeout))
        #expect(!set.contains(.connectError))
        #expect(!set.contains(.other))
    }

    @Test func defaultFallbackCoversOverloadAndTransportFailures() {
        let set = FailureSet.defaultFallback
        for status in [429, 500, 502, 503, 504] { #expect(set.contains(.status(status))) }
        #expect(!set.contains(.status(400)))
        #expect(!set.contains(.status(404)))
        #expect(set.contains(.timeout))
        #expect(set.contains(.connectError))
    }
}
