import Cache
import Router
import Testing

@testable import Gateway

@Suite struct PromptSizeTests {
    static func object(_ json: String) throws -> JSONObject {
        try #require(try JSONParser.parse(json).objectValue)
    }

    @Test func chatCountsEveryByteOfEveryMessageAndTheFraming() throws {
        let body = try Self.object(
            #"{"model":"m","max_tokens":7,"messages":[{"role":"system","content":"héllo"},{"role":"user","content":[{"type":"text","text":"abcd"}]}]}"#
        )
        let size = PromptSize(kind: .chat, body: body, defaultMaxTokens: 100)
        // "héllo" is 6 bytes, "abcd" 4; two messages of 4 tokens' framing and 3 for the reply's.
        #expect(size.upperBound == 10 + 8 + 3)
        #expect(size.estimate == 3 + 8 + 3)
        #expect(size.maxCompletionTokens == 7)
    }

    @Test func theDefaultMaxTokensApplyWhenTheRequestSetsNone() throws {
        let body = try Self.object(#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#)
        #expect(PromptSize(kind: .chat, body: body, defaultMaxTokens: 321).maxCompletionTokens == 321)
        let newer = try Self.object(#"{"model":"m","max_completion_tokens":9,"messages":[]}"#)
        #expect(PromptSize(kind: .chat, body: newer, defaultMaxTokens: 321).maxCompletionTokens == 9)
    }

    @Test func imagesCountAtAHighDetailImagesPrice() throws {
        let body = try Self.object(
            #"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}"#)
        let size = PromptSize(kind: .chat, body: body, defaultMaxTokens: 1)
        #expect(size.upperBound == PromptSize.tokensPerImage + PromptSize.tokensPerMessage + 3)
    }

    @Test func tokenArraysCountOneEachAndEmbeddingsReserveNoCompletion() throws {
        let body = try Self.object(#"{"model":"e","input":[[1,2,3],"abcdefgh"]}"#)
        let size = PromptSize(kind: .embedding, body: body, defaultMaxTokens: 4096)
        #expect(size.upperBound == 3 + 8 + 1)
        #expect(size.maxCompletionTokens == 0)
        let completion = try Self.object(#"{"model":"m","prompt":"abcd","max_tokens":2}"#)
        #expect(PromptSize(kind: .completion, body: completion, defaultMaxTokens: 1).upperBound == 5)
    }
}

@Suite struct RateReportTests {
    @Test func durationsAreWrittenAsOpenAIWritesThem() {
        #expect(RateReport.duration(0.0201) == "21ms")
        #expect(RateReport.duration(1) == "1s")
        #expect(RateReport.duration(1.52) == "1.6s")
        #expect(RateReport.duration(59.9) == "59.9s")
        #expect(RateReport.duration(360) == "6m0s")
        #expect(RateReport.duration(3723) == "1h2m3s")
    }

    @Test func theTighterWindowIsReported() {
        let loose = RateWindow.Status(limit: 100, remaining: 90, resetSeconds: 6)
        let tight = RateWindow.Status(limit: 10, remaining: 2, resetSeconds: 48)
        #expect(RateReport.tighter(loose, tight) == tight)
        #expect(RateReport.tighter(tight, loose) == tight)
        let report = RateReport(requests: tight, tokens: nil)
        #expect(report.headers.map(\.0) == ["x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"])
        #expect(report.headers.map(\.1) == ["10", "2", "48s"])
    }

    @Test func dollarsHaveEightDecimals() {
        #expect(USD.format(0) == "0.00000000")
        #expect(USD.format(0.000125) == "0.00012500")
        #expect(USD.format(12.5) == "12.50000000")
        #expect(USD.format(-1) == "0.00000000")
        #expect(USD.format(.nan) == "0.00000000")
    }
}
