import Testing

@testable import Gateway

@Suite struct SSEParserTests {
    @Test func eventsSplitAcrossChunksAreReassembled() throws {
        var parser = SSEParser()
        var events: [[UInt8]] = []
        let stream = "data: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\n: keep-alive\n\ndata: [DONE]\n\n"
        let bytes = Array(stream.utf8)
        // Feed one byte at a time: the worst chunking a network can produce.
        for byte in bytes { events += try parser.feed([byte]) }
        #expect(events.map { String(decoding: $0, as: UTF8.self) } == ["{\"a\":1}", "{\"b\":2}", "[DONE]"])
        #expect(!parser.hasPartialEvent)
    }

    @Test func multiLineDataJoinsWithNewline() throws {
        var parser = SSEParser()
        let events = try parser.feed(Array("data:one\ndata: two\nid: 7\n\n".utf8))
        #expect(events.map { String(decoding: $0, as: UTF8.self) } == ["one\ntwo"])
    }

    @Test func unterminatedEventIsReportedPartial() throws {
        var parser = SSEParser()
        let events = try parser.feed(Array("data: {\"x\":1}\n".utf8))
        #expect(events.isEmpty)
        #expect(parser.hasPartialEvent)
    }

    @Test func oversizedEventIsRefused() {
        var parser = SSEParser(maxEventBytes: 16)
        #expect(throws: SSEParser.EventTooLarge.self) {
            _ = try parser.feed(Array(("data: " + String(repeating: "x", count: 64)).utf8))
        }
    }
}
