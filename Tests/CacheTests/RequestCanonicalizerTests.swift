import Testing

@testable import Cache

@Suite struct RequestCanonicalizerTests {
    private func canonical(_ text: String, _ endpoint: String = "chat") throws -> String {
        String(
            decoding: RequestCanonicalizer.canonicalBytes(try JSONParser.parse(text), endpoint: endpoint),
            as: UTF8.self
        )
    }

    private func key(
        _ text: String,
        endpoint: String = "chat",
        scope: String = "k-0123456789abcdef",
        route: String = "chat"
    ) throws -> CacheKey {
        let bytes = RequestCanonicalizer.canonicalBytes(try JSONParser.parse(text), endpoint: endpoint)
        return RequestCanonicalizer.cacheKey(scope: scope, route: route, endpoint: endpoint, canonical: bytes)
    }

    private let base = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]"#

    @Test func sortsKeysAndNormalisesNumbers() throws {
        #expect(
            try canonical(#"{"temperature":0.50,"model":"m","messages":[],"max_tokens":1.0e2}"#)
                == #"{"max_tokens":100,"messages":[],"model":"m","temperature":0.5}"#
        )
        #expect(try key(#"{"temperature":0.5,"model":"m"}"#) == key(#"{"model":"m","temperature":5e-1}"#))
    }

    @Test func dropsNonSemanticFields() throws {
        let plain = try key(base + "}")
        let decorated = try key(
            base
                + #","user":"u-42","stream":true,"stream_options":{"include_usage":true},"metadata":{"a":"b"},"#
                + #""store":true}"#
        )
        #expect(plain == decorated)
        #expect(try key(base + #","stream":false}"#) == plain)
    }

    @Test func keepsServiceTier() throws {
        #expect(try key(base + #","service_tier":"flex"}"#) != key(base + "}"))
    }

    @Test func explicitChatDefaultsEqualOmitted() throws {
        let defaults =
            #","temperature":1.0,"top_p":1,"n":1,"presence_penalty":0,"frequency_penalty":0.0,"logprobs":false"#
            + #","parallel_tool_calls":true,"logit_bias":{},"stop":null,"max_tokens":null,"seed":null"#
            + #","response_format":{"type":"text"},"tool_choice":null}"#
        #expect(try canonical(base + defaults) == canonical(base + "}"))
        #expect(
            try canonical(base + defaults) == #"{"messages":[{"content":"Hello","role":"user"}],"model":"gpt-4o-mini"}"#
        )
    }

    @Test func nonDefaultValuesStay() throws {
        let text =
            base
            + #","temperature":0,"n":2,"logprobs":true,"logit_bias":{"50256":-100},"#
            + #""response_format":{"type":"json_object"}}"#
        let body = RequestCanonicalizer.canonicalBody(try JSONParser.parse(text), endpoint: "chat")
        #expect(body["temperature"] == .number("0"))
        #expect(body["n"] == .number("2"))
        #expect(body["logprobs"] == .bool(true))
        #expect(body["logit_bias"]?["50256"] == .number("-100"))
        #expect(body["response_format"]?["type"] == "json_object")
    }

    @Test func semanticChangesChangeTheKey() throws {
        let cool = try key(base + #","temperature":0.5}"#)
        #expect(cool != (try key(base + #","temperature":0.7}"#)))
        #expect(cool != (try key(base + "}")))
        let other = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}],"temperature":0.5}"#
        #expect(cool != (try key(other)))
        #expect(try key(base + #","seed":1}"#) != key(base + #","seed":2}"#))
        #expect(try key(base + #","max_tokens":16}"#) != key(base + "}"))
    }

    @Test func scopeRouteAndEndpointChangeTheKey() throws {
        let body = base + "}"
        let original = try key(body)
        #expect(original != (try key(body, scope: "k-fedcba9876543210")))
        #expect(original != (try key(body, scope: "shared")))
        #expect(original != (try key(body, route: "chat-premium")))
        #expect(original != (try key(body, endpoint: "completion")))
        #expect(original == (try key(body)))
    }

    @Test func fieldBoundariesCannotBeShifted() {
        let canonical = Array("{}".utf8)
        let a = RequestCanonicalizer.cacheKey(scope: "ab", route: "c", endpoint: "chat", canonical: canonical)
        let b = RequestCanonicalizer.cacheKey(scope: "a", route: "bc", endpoint: "chat", canonical: canonical)
        #expect(a != b)
    }

    @Test func singleTextPartEqualsPlainString() throws {
        let parts = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"text","text":"Hello"}]}]}"#
        #expect(try key(parts) == key(base + "}"))
        let twoParts =
            #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"text","text":"Hel"},"#
            + #"{"type":"text","text":"lo"}]}]}"#
        #expect(try key(twoParts) != key(base + "}"))
        let image =
            #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"image_url","image_url":"#
            + #"{"url":"https://x/y.png"}}]}]}"#
        #expect(try canonical(image).contains("image_url"))
    }

    @Test func nullNameDropped() throws {
        let named = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello","name":null}]}"#
        #expect(try key(named) == key(base + "}"))
        let realName = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello","name":"ann"}]}"#
        #expect(try key(realName) != key(base + "}"))
    }

    @Test func singleStopBecomesArray() throws {
        #expect(try key(base + #","stop":"\n"}"#) == key(base + #","stop":["\n"]}"#))
        #expect(try canonical(base + #","stop":"END"}"#).contains(#""stop":["END"]"#))
        #expect(
            try key(base + #","stop":"END"}"#, endpoint: "completion")
                == key(base + #","stop":["END"]}"#, endpoint: "completion")
        )
    }

    @Test func completionDefaults() throws {
        let prompt = #"{"model":"gpt-3.5-turbo-instruct","prompt":"Once upon""#
        let explicit =
            prompt + #","max_tokens":16,"echo":false,"best_of":1,"temperature":1,"suffix":null,"logit_bias":{}}"#
        #expect(try canonical(explicit, "completion") == #"{"model":"gpt-3.5-turbo-instruct","prompt":"Once upon"}"#)
        #expect(
            try key(prompt + #","max_tokens":64}"#, endpoint: "completion") != key(prompt + "}", endpoint: "completion")
        )
        // 16 is only the legacy endpoint's default: for chat it is a real limit.
        #expect(try canonical(base + #","max_tokens":16}"#).contains("max_tokens"))
    }

    @Test func embeddingDefaults() throws {
        let input = #"{"model":"text-embedding-3-small","input":"hi""#
        #expect(
            try canonical(input + #","encoding_format":"float","user":"x"}"#, "embedding")
                == #"{"input":"hi","model":"text-embedding-3-small"}"#
        )
        #expect(try canonical(input + #","encoding_format":"base64"}"#, "embedding").contains("base64"))
        // Chat defaults do not leak into other endpoints.
        #expect(try canonical(input + #","temperature":1}"#, "embedding").contains("temperature"))
    }

    @Test func predictGetsGenericRulesOnly() throws {
        let body = try JSONParser.parse(#"{"inputs":[[1.0,2]],"n":1,"user":"u","extra":null}"#)
        #expect(
            RequestCanonicalizer.canonicalBody(body, endpoint: "predict")
                == (try JSONParser.parse(#"{"inputs":[[1.0,2]],"n":1}"#))
        )
    }

    @Test func nonObjectBodyIsUnchanged() throws {
        let body = try JSONParser.parse("[1,2]")
        #expect(RequestCanonicalizer.canonicalBody(body, endpoint: "chat") == body)
    }

    @Test func rawKeyDependsOnEveryInputAndDiffersFromCanonicalKey() {
        func raw(_ scope: String, _ path: String, _ body: String) -> CacheKey {
            Array(body.utf8).withUnsafeBytes { RequestCanonicalizer.rawKey(scope: scope, path: path, body: $0) }
        }
        let original = raw("anonymous", "/v1/predict", "a=1")
        #expect(original == raw("anonymous", "/v1/predict", "a=1"))
        #expect(original != raw("tenant", "/v1/predict", "a=1"))
        #expect(original != raw("anonymous", "/v2/predict", "a=1"))
        #expect(original != raw("anonymous", "/v1/predict", "a=2"))
        let canonicalKey = RequestCanonicalizer.cacheKey(
            scope: "anonymous",
            route: "/v1/predict",
            endpoint: "",
            canonical: Array("a=1".utf8)
        )
        #expect(original != canonicalKey)
    }

    @Test func keyIsStableAcrossVersions() throws {
        // Guards against accidental changes of the key derivation, which would orphan every stored entry.
        let key = RequestCanonicalizer.cacheKey(
            scope: "anonymous",
            route: "chat",
            endpoint: "chat",
            canonical: Array("{}".utf8)
        )
        #expect(key.hex.count == 64)
        #expect(
            key
                == RequestCanonicalizer.cacheKey(
                    scope: "anonymous",
                    route: "chat",
                    endpoint: "chat",
                    canonical: Array("{}".utf8)
                )
        )
        #expect(key.hex == Self.expectedEmptyChatKey)
    }

    /// SHA-256 over the length-prefixed fields, computed independently with Python's hashlib.
    static let expectedEmptyChatKey = "21fb2c20ff0c49729270d548eb881d38c39fac8c16883b8d0fd3782d0e220e7a"

    @Test func determinism() throws {
        func deterministic(_ extra: String, _ endpoint: String = "chat") throws -> Bool {
            let body = RequestCanonicalizer.canonicalBody(try JSONParser.parse(base + extra), endpoint: endpoint)
            return RequestCanonicalizer.isDeterministic(body, endpoint: endpoint)
        }
        #expect(try deterministic(#","temperature":0}"#))
        #expect(try deterministic(#","temperature":0.0}"#))
        #expect(try deterministic(#","seed":7,"temperature":0.8}"#))
        #expect(try !deterministic("}"))
        #expect(try !deterministic(#","temperature":1.0}"#))
        #expect(try !deterministic(#","temperature":0.2,"seed":null}"#))
        #expect(try deterministic("}", "embedding"))
    }
}
