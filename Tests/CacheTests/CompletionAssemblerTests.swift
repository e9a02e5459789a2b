import Testing

@testable import Cache

@Suite struct CompletionAssemblerTests {
    /// The shared prefix of every chunk of one real gpt-4o-mini stream.
    static let head =
        #"{"id":"chatcmpl-B9x","object":"chat.completion.chunk","created":1731000000,"#
        + #""model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_0ba0d124f1","#

    static func chunk(_ choices: String, usage: String = "null") -> String {
        head + #""choices":[\#(choices)],"usage":\#(usage),"obfuscation":"x7Yq"}"#
    }

    private func assemble(_ events: [String], endpoint: String = "chat") throws -> (JSONValue, CompletionAssembler) {
        var assembler = CompletionAssembler(endpoint: endpoint)
        for event in events { try assembler.add(event: Array(event.utf8)) }
        return (try JSONParser.parse(assembler.assembled()), assembler)
    }

    static let usage =
        #"{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"#
        + #""prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"#
        + #""completion_tokens_details":{"reasoning_tokens":0}}"#

    static let textStream = [
        chunk(
            #"{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"#
                + #""finish_reason":null}"#
        ),
        chunk(#"{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}"#),
        chunk(#"{"index":0,"delta":{"content":" there!"},"logprobs":null,"finish_reason":null}"#),
        chunk(#"{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}"#),
        chunk("", usage: usage),
        "[DONE]",
    ]

    @Test func assemblesTextStreamWithUsageChunk() throws {
        let (body, assembler) = try assemble(Self.textStream)
        #expect(assembler.isComplete)
        let expected = try JSONParser.parse(
            #"{"id":"chatcmpl-B9x","object":"chat.completion","created":1731000000,"model":"gpt-4o-mini-2024-07-18","#
                + #""choices":[{"index":0,"message":{"role":"assistant","content":"Hello there!"},"logprobs":null,"#
                + #""finish_reason":"stop"}],"usage":\#(Self.usage),"service_tier":"default","#
                + #""system_fingerprint":"fp_0ba0d124f1"}"#
        )
        #expect(body == expected)
    }

    @Test func assemblesParallelToolCalls() throws {
        let events = [
            Self.chunk(
                #"{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc","#
                    + #""type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null},"#
                    + #""logprobs":null,"finish_reason":null}"#
            ),
            Self.chunk(
                #"{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"lo"}}]},"#
                    + #""finish_reason":null}"#
            ),
            Self.chunk(
                #"{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"cation\": \"Paris\"}"}}]},"#
                    + #""finish_reason":null}"#
            ),
            Self.chunk(
                #"{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_def","type":"function","#
                    + #""function":{"name":"get_","arguments":""}}]},"finish_reason":null}"#
            ),
            Self.chunk(
                #"{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"name":"time","arguments":"{}"}}]}}"#
            ),
            Self.chunk(#"{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}"#),
            Self.chunk("", usage: #"{"prompt_tokens":80,"completion_tokens":40,"total_tokens":120}"#),
        ]
        let (body, _) = try assemble(events)
        let message = try #require(body["choices"]?.arrayValue?.first?["message"])
        #expect(message["content"] == .null)
        #expect(message["refusal"] == nil)
        let calls = try #require(message["tool_calls"]?.arrayValue)
        #expect(calls.count == 2)
        #expect(
            calls[0] == [
                "id": "call_abc", "type": "function",
                "function": ["name": "get_weather", "arguments": #"{"location": "Paris"}"#],
            ]
        )
        #expect(
            calls[1] == ["id": "call_def", "type": "function", "function": ["name": "get_time", "arguments": "{}"]]
        )
        #expect(body["choices"]?.arrayValue?.first?["finish_reason"] == "tool_calls")
        #expect(body["usage"]?["total_tokens"]?.intValue == 120)
    }

    @Test func interleavedChoicesAreSortedByIndex() throws {
        let events = [
            Self.chunk(#"{"index":1,"delta":{"role":"assistant","content":"B"},"finish_reason":null}"#),
            Self.chunk(#"{"index":0,"delta":{"role":"assistant","content":"A"},"finish_reason":null}"#),
            Self.chunk(#"{"index":1,"delta":{"content":"2"},"finish_reason":"length"}"#),
            Self.chunk(#"{"index":0,"delta":{"content":"1"},"finish_reason":null}"#),
        ]
        var (body, assembler) = try assemble(events)
        #expect(!assembler.isComplete)
        let choices = try #require(body["choices"]?.arrayValue)
        #expect(choices.map { $0["index"]?.intValue } == [0, 1])
        #expect(choices.map { $0["message"]?["content"]?.stringValue } == ["A1", "B2"])
        #expect(choices[0]["finish_reason"] == .null)
        #expect(body["usage"] == .null)

        try assembler.add(event: Array(Self.chunk(#"{"index":0,"delta":{},"finish_reason":"stop"}"#).utf8))
        #expect(assembler.isComplete)
        body = try JSONParser.parse(assembler.assembled())
        #expect(body["choices"]?.arrayValue?[0]["finish_reason"] == "stop")
    }

    @Test func concatenatesRefusalAndLogprobs() throws {
        let token = { (text: String) in #"{"token":"\#(text)","logprob":-0.1,"bytes":[1],"top_logprobs":[]}"# }
        let events = [
            Self.chunk(
                #"{"index":0,"delta":{"role":"assistant","refusal":"I can"},"logprobs":{"content":null,"#
                    + #""refusal":[\#(token("I"))]}}"#
            ),
            Self.chunk(
                #"{"index":0,"delta":{"refusal":"'t help."},"logprobs":{"content":null,"refusal":[\#(token("'t"))]}}"#
            ),
            Self.chunk(#"{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}"#),
        ]
        let (body, _) = try assemble(events)
        let choice = try #require(body["choices"]?.arrayValue?.first)
        #expect(choice["message"]?["refusal"] == "I can't help.")
        #expect(choice["message"]?["content"] == .null)
        #expect(choice["logprobs"]?["refusal"]?.arrayValue?.compactMap { $0["token"]?.stringValue } == ["I", "'t"])
        #expect(choice["logprobs"]?["content"] == .null)
    }

    @Test func concatenatesContentLogprobs() throws {
        let events = [
            // A null before the first array must not stop the arrays from being joined.
            Self.chunk(
                #"{"index":0,"delta":{"role":"assistant","content":""},"logprobs":{"content":null,"refusal":null}}"#
            ),
            Self.chunk(
                #"{"index":0,"delta":{"content":"Hi"},"logprobs":{"content":[{"token":"Hi","logprob":-0.5}],"#
                    + #""refusal":null}}"#
            ),
            Self.chunk(
                #"{"index":0,"delta":{"content":"!"},"logprobs":{"content":[{"token":"!","logprob":-0.2}],"#
                    + #""refusal":null}}"#
            ),
            Self.chunk(#"{"index":0,"delta":{},"finish_reason":"stop"}"#),
        ]
        let (body, _) = try assemble(events)
        let logprobs = body["choices"]?.arrayValue?.first?["logprobs"]
        #expect(logprobs?["content"]?.arrayValue?.count == 2)
        #expect(logprobs?["content"]?.arrayValue?[1]["token"] == "!")
        #expect(logprobs?["refusal"] == .null)
    }

    @Test func keepsUnknownFields() throws {
        let events = [
            #"{"id":"x","object":"chat.completion.chunk","created":1,"model":"deepseek-r1","provider":"vllm","#
                + #""choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Let me "},"#
                + #""finish_reason":null}]}"#,
            #"{"id":"x","object":"chat.completion.chunk","created":1,"model":"deepseek-r1","#
                + #""system_fingerprint":"fp_late","#
                + #""choices":[{"index":0,"delta":{"reasoning_content":"think.","content":"4"},"#
                + #""finish_reason":"stop","stop_reason":null}]}"#,
        ]
        let (body, _) = try assemble(events)
        #expect(body["provider"] == "vllm")
        #expect(body["system_fingerprint"] == "fp_late")
        #expect(body["obfuscation"] == nil)
        let message = body["choices"]?.arrayValue?.first?["message"]
        #expect(message?["reasoning_content"] == "Let me think.")
        #expect(message?["content"] == "4")
    }

    @Test func skipsAzuresBlankOpeningChunk() throws {
        let events = [
            #"{"choices":[],"created":0,"id":"","model":"","object":"","#
                + #""prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}"#,
            #"{"choices":[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0}],"#
                + #""created":1731000003,"id":"chatcmpl-az","model":"gpt-4o-2024-08-06","#
                + #""object":"chat.completion.chunk","#
                + #""system_fingerprint":"fp_az"}"#,
            #"{"choices":[{"delta":{"content":"Hi"},"finish_reason":"stop","index":0}],"#
                + #""created":1731000003,"id":"chatcmpl-az","model":"gpt-4o-2024-08-06","#
                + #""object":"chat.completion.chunk"}"#,
        ]
        var assembler = CompletionAssembler(endpoint: "chat")
        for event in events {
            try Array(event.utf8).withUnsafeBytes { try assembler.add(event: $0) }
        }
        let body = try JSONParser.parse(assembler.assembled())
        #expect(body["id"] == "chatcmpl-az")
        #expect(body["created"]?.intValue == 1_731_000_003)
        #expect(body["model"] == "gpt-4o-2024-08-06")
        #expect(body["object"] == "chat.completion")
        #expect(body["system_fingerprint"] == "fp_az")
        #expect(body["prompt_filter_results"]?.arrayValue?.count == 1)
        #expect(body["choices"]?.arrayValue?.first?["message"]?["content"] == "Hi")
    }

    @Test func assemblesLegacyCompletions() throws {
        let head = #"{"id":"cmpl-9","object":"text_completion","created":1731000001,"model":"gpt-3.5-turbo-instruct","#
        let events = [
            head + #""choices":[{"text":"Once","index":0,"logprobs":{"tokens":["Once"],"token_logprobs":[-0.3],"#
                + #""top_logprobs":[{"Once":-0.3}],"text_offset":[10]},"finish_reason":null}]}"#,
            head + #""choices":[{"text":" upon","index":0,"logprobs":{"tokens":[" upon"],"token_logprobs":[-0.1],"#
                + #""top_logprobs":[{" upon":-0.1}],"text_offset":[14]},"finish_reason":null}]}"#,
            head + #""choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"length"}]}"#,
            head + #""choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#,
            "[DONE]",
        ]
        let (body, assembler) = try assemble(events, endpoint: "completion")
        #expect(assembler.isComplete)
        let expected = try JSONParser.parse(
            #"{"id":"cmpl-9","object":"text_completion","created":1731000001,"model":"gpt-3.5-turbo-instruct","#
                + #""choices":[{"index":0,"text":"Once upon","logprobs":{"tokens":["Once"," upon"],"#
                + #""token_logprobs":[-0.3,-0.1],"top_logprobs":[{"Once":-0.3},{" upon":-0.1}],"text_offset":[10,14]},"#
                + #""finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#
        )
        #expect(body == expected)
    }

    @Test func longStreamsAssembleCompletely() throws {
        var assembler = CompletionAssembler(endpoint: "chat")
        let count = 2000
        for position in 0..<count {
            let event = Self.chunk(
                #"{"index":0,"delta":{"content":"w\#(position) ","reasoning_content":"r"},"#
                    + #""logprobs":{"content":[{"token":"w","logprob":-0.1}]},"finish_reason":null}"#
            )
            try assembler.add(event: Array(event.utf8))
        }
        try assembler.add(event: Array(Self.chunk(#"{"index":0,"delta":{},"finish_reason":"length"}"#).utf8))
        let body = try JSONParser.parse(assembler.assembled())
        let choice = try #require(body["choices"]?.arrayValue?.first)
        let content = try #require(choice["message"]?["content"]?.stringValue)
        #expect(content.hasPrefix("w0 w1 w2 "))
        #expect(content.hasSuffix("w\(count - 1) "))
        #expect(choice["message"]?["reasoning_content"]?.stringValue?.count == count)
        #expect(choice["logprobs"]?["content"]?.arrayValue?.count == count)
        #expect(choice["finish_reason"] == "length")
    }

    @Test func errorEventThrows() {
        var assembler = CompletionAssembler(endpoint: "chat")
        let error = #"{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}"#
        #expect(throws: CompletionFormatError.self) { try assembler.add(event: Array(error.utf8)) }
        do {
            try assembler.add(event: Array(error.utf8))
        } catch {
            #expect(error.code == .upstreamError)
        }
    }

    @Test func malformedChunksThrow() {
        var assembler = CompletionAssembler(endpoint: "chat")
        do {
            try assembler.add(event: Array("{\"id\":".utf8))
            Issue.record("truncated chunk accepted")
        } catch {
            #expect(error.code == .invalidJSON)
        }
        do {
            try assembler.add(event: Array("[1]".utf8))
            Issue.record("array chunk accepted")
        } catch {
            #expect(error.code == .unexpectedShape)
        }
    }

    @Test func nothingAddedThrows() throws {
        var assembler = CompletionAssembler(endpoint: "chat")
        try assembler.add(event: Array(" [DONE]\n".utf8))
        #expect(throws: CompletionFormatError.self) { _ = try assembler.assembled() }
        #expect(!assembler.isComplete)
    }
}
