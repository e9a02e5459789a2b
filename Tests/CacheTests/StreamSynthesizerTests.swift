import Testing

@testable import Cache

@Suite struct StreamSynthesizerTests {
    static let chatBody =
        #"{"id":"chatcmpl-B9x","object":"chat.completion","created":1731000000,"#
        + #""model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","#
        + #""content":"Hello there!","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"#
        + #""usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"#
        + #""prompt_tokens_details":{"cached_tokens":0}},"service_tier":"default","#
        + #""system_fingerprint":"fp_0ba0d124f1"}"#

    static let toolBody =
        #"{"id":"chatcmpl-T1","object":"chat.completion","created":1731000002,"model":"gpt-4o","#
        + #""choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":["#
        + #"{"id":"call_abc","type":"function","function":{"name":"get_weather","#
        + #""arguments":"{\"location\":\"Paris\"}"}},"#
        + #"{"id":"call_def","type":"function","function":{"name":"get_time","arguments":"{}"}}],"refusal":null},"#
        + #""logprobs":null,"finish_reason":"tool_calls"}],"#
        + #""usage":{"prompt_tokens":80,"completion_tokens":40,"total_tokens":120},"system_fingerprint":null}"#

    private func synthesize(_ body: String, endpoint: String = "chat") throws -> ([JSONValue], Int?) {
        let (events, usageIndex) = try StreamSynthesizer.events(fromCompletion: Array(body.utf8), endpoint: endpoint)
        return (try events.map { try JSONParser.parse($0) }, usageIndex)
    }

    private func roundTrip(_ body: String, endpoint: String = "chat") throws -> JSONValue {
        let (events, _) = try StreamSynthesizer.events(fromCompletion: Array(body.utf8), endpoint: endpoint)
        var assembler = CompletionAssembler(endpoint: endpoint)
        for event in events { try assembler.add(event: event) }
        #expect(assembler.isComplete)
        return try JSONParser.parse(assembler.assembled())
    }

    @Test func chatChunksLookLikeOpenAIs() throws {
        let (chunks, usageIndex) = try synthesize(Self.chatBody)
        #expect(chunks.count == 4)
        #expect(usageIndex == 3)
        for chunk in chunks {
            #expect(chunk["id"] == "chatcmpl-B9x")
            #expect(chunk["object"] == "chat.completion.chunk")
            #expect(chunk["created"]?.intValue == 1_731_000_000)
            #expect(chunk["model"] == "gpt-4o-mini-2024-07-18")
            #expect(chunk["system_fingerprint"] == "fp_0ba0d124f1")
            #expect(chunk["service_tier"] == "default")
        }
        #expect(
            chunks[0]["choices"] == [
                ["index": 0, "delta": ["role": "assistant", "content": ""], "logprobs": .null, "finish_reason": .null]
            ]
        )
        let content = chunks[1]["choices"]?.arrayValue?.first
        #expect(content?["delta"] == ["content": "Hello there!", "annotations": []])
        #expect(chunks[2]["choices"] == [["index": 0, "delta": [:], "logprobs": .null, "finish_reason": "stop"]])
        #expect(chunks[3]["choices"] == [])
        #expect(chunks[3]["usage"]?["total_tokens"]?.intValue == 12)
        #expect(chunks[0..<3].allSatisfy { $0["usage"] == nil })
    }

    @Test func chatRoundTrip() throws {
        let original = try JSONParser.parse(Self.chatBody)
        let assembled = try roundTrip(Self.chatBody)
        #expect(assembled["choices"]?.arrayValue?.first?["message"]?["content"] == "Hello there!")
        #expect(assembled["choices"]?.arrayValue?.first?["finish_reason"] == "stop")
        #expect(assembled["usage"] == original["usage"])
        #expect(assembled["system_fingerprint"] == original["system_fingerprint"])
        #expect(assembled["service_tier"] == "default")
        #expect(assembled["id"] == original["id"])
        #expect(assembled["created"] == original["created"])
        #expect(assembled["object"] == "chat.completion")
    }

    @Test func toolCallsRoundTrip() throws {
        let (chunks, usageIndex) = try synthesize(Self.toolBody)
        #expect(usageIndex == chunks.count - 1)
        #expect(chunks[0]["choices"]?.arrayValue?.first?["delta"] == ["role": "assistant", "content": .null])
        #expect(chunks.allSatisfy { $0["system_fingerprint"] == nil })
        let calls = chunks[1]["choices"]?.arrayValue?.first?["delta"]?["tool_calls"]?.arrayValue
        #expect(calls?.map { $0["index"]?.intValue } == [0, 1])
        #expect(calls?[1]["id"] == "call_def")

        let original = try JSONParser.parse(Self.toolBody)
        let assembled = try roundTrip(Self.toolBody)
        let message = assembled["choices"]?.arrayValue?.first?["message"]
        #expect(message?["content"] == .null)
        #expect(message?["tool_calls"] == original["choices"]?.arrayValue?.first?["message"]?["tool_calls"])
        #expect(assembled["choices"]?.arrayValue?.first?["finish_reason"] == "tool_calls")
        #expect(assembled["usage"] == original["usage"])
    }

    @Test func multipleChoicesAndLogprobsRoundTrip() throws {
        let body =
            #"{"id":"c","object":"chat.completion","created":5,"model":"m","choices":["#
            + #"{"index":1,"message":{"role":"assistant","content":"B"},"logprobs":{"content":[{"token":"B","#
            + #""logprob":-1}],"refusal":null},"#
            + #""finish_reason":"stop"},"#
            + #"{"index":0,"message":{"role":"assistant","content":"","refusal":"No."},"logprobs":null,"#
            + #""finish_reason":"stop"}]}"#
        let (chunks, usageIndex) = try synthesize(body)
        #expect(usageIndex == nil)
        #expect(chunks.first?["choices"]?.arrayValue?.first?["index"]?.intValue == 0)
        let assembled = try roundTrip(body)
        let choices = try #require(assembled["choices"]?.arrayValue)
        #expect(choices.count == 2)
        #expect(choices[0]["message"]?["content"] == "")
        #expect(choices[0]["message"]?["refusal"] == "No.")
        #expect(choices[1]["message"]?["content"] == "B")
        #expect(choices[1]["logprobs"] == (try JSONParser.parse(body))["choices"]?.arrayValue?[0]["logprobs"])
        #expect(assembled["usage"] == .null)
    }

    @Test func legacyCompletionRoundTrip() throws {
        let body =
            #"{"id":"cmpl-9","object":"text_completion","created":1731000001,"model":"gpt-3.5-turbo-instruct","#
            + #""choices":[{"text":"Once upon","index":0,"logprobs":null,"finish_reason":"length"}],"#
            + #""usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#
        let (chunks, usageIndex) = try synthesize(body, endpoint: "completion")
        #expect(chunks.count == 3)
        #expect(usageIndex == 2)
        #expect(chunks.allSatisfy { $0["object"] == "text_completion" })
        #expect(chunks[0]["choices"] == [["index": 0, "text": "Once upon", "logprobs": .null, "finish_reason": .null]])
        #expect(chunks[1]["choices"] == [["index": 0, "text": "", "logprobs": .null, "finish_reason": "length"]])

        let assembled = try roundTrip(body, endpoint: "completion")
        #expect(
            assembled
                == (try JSONParser.parse(
                    #"{"id":"cmpl-9","object":"text_completion","created":1731000001,"model":"gpt-3.5-turbo-instruct","#
                        + #""choices":[{"index":0,"text":"Once upon","logprobs":null,"finish_reason":"length"}],"#
                        + #""usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#
                ))
        )
    }

    @Test func rejectsBodiesThatAreNotCompletions() {
        #expect(throws: CompletionFormatError.self) {
            _ = try StreamSynthesizer.events(fromCompletion: Array("nope".utf8), endpoint: "chat")
        }
        #expect(throws: CompletionFormatError.self) {
            _ = try StreamSynthesizer.events(
                fromCompletion: Array(#"{"object":"list","data":[]}"#.utf8),
                endpoint: "chat"
            )
        }
    }
}
