import Cache
import Router
import Testing

@testable import Gateway

/// What the semantic cache embeds of a request, and what it leaves to be matched exactly.
@Suite struct SemanticPromptTests {
    static func chat(_ messages: [(String, String)], temperature: Double? = nil) -> JSONObject {
        var body: JSONObject = [
            "model": "m",
            "messages": .array(messages.map { role, content in ["role": .string(role), "content": .string(content)] }),
        ]
        if let temperature { body["temperature"] = .number(String(temperature)) }
        return body
    }

    static func rest(_ body: JSONObject, _ mode: SemanticCachePolicy.Messages) throws -> [UInt8] {
        let split = try #require(SemanticPrompt.split(body, kind: .chat, messages: mode))
        return RequestCanonicalizer.canonicalBytes(.object(split.rest), endpoint: "chat")
    }

    @Test func lastUserEmbedsTheQuestionAndKeepsTheRestExact() throws {
        let a = Self.chat([("system", "be brief"), ("user", "first"), ("assistant", "ok"), ("user", "How do I reset it?")])
        let b = Self.chat([("system", "be brief"), ("user", "first"), ("assistant", "ok"), ("user", "How can I reset it?")])
        let split = try #require(SemanticPrompt.split(a, kind: .chat, messages: .lastUser))
        #expect(split.text == "How do I reset it?")
        // Only the embedded question differs: same family.
        #expect(try Self.rest(a, .lastUser) == Self.rest(b, .lastUser))
        // Another system prompt, an earlier turn or a sampling setting: another family.
        let otherSystem = Self.chat([("system", "be long"), ("user", "first"), ("assistant", "ok"), ("user", "How can I reset it?")])
        #expect(try Self.rest(a, .lastUser) != Self.rest(otherSystem, .lastUser))
        let warmer = Self.chat([("system", "be brief"), ("user", "first"), ("assistant", "ok"), ("user", "How can I reset it?")], temperature: 0.5)
        #expect(try Self.rest(a, .lastUser) != Self.rest(warmer, .lastUser))
    }

    @Test func userAndAllEmbedMoreOfTheConversation() throws {
        let body = Self.chat([("system", "be brief"), ("user", "one"), ("assistant", "ok"), ("user", "two")])
        #expect(SemanticPrompt.split(body, kind: .chat, messages: .user)?.text == "one\ntwo")
        #expect(SemanticPrompt.split(body, kind: .chat, messages: .all)?.text == "system: be brief\nuser: one\nassistant: ok\nuser: two")
        let otherSystem = Self.chat([("system", "be long"), ("user", "one"), ("assistant", "ok"), ("user", "two")])
        #expect(try Self.rest(body, .user) != Self.rest(otherSystem, .user))
        #expect(try Self.rest(body, .all) == Self.rest(otherSystem, .all))
    }

    @Test func completionsEmbedThePromptAndTokenPromptsAreLeftAlone() {
        let text: JSONObject = ["model": "m", "prompt": "Once upon a time"]
        #expect(SemanticPrompt.split(text, kind: .completion, messages: .lastUser)?.text == "Once upon a time")
        let tokens: JSONObject = ["model": "m", "prompt": [1, 2, 3]]
        #expect(SemanticPrompt.split(tokens, kind: .completion, messages: .lastUser) == nil)
        let noUser = Self.chat([("system", "only a system prompt")])
        #expect(SemanticPrompt.split(noUser, kind: .chat, messages: .lastUser) == nil)
    }

    @Test func similarityIsWrittenWithFourDecimals() {
        #expect(InferencePipeline.similarityText(0.97314) == "0.9731")
        #expect(InferencePipeline.similarityText(1) == "1.0000")
        #expect(InferencePipeline.similarityText(0.05) == "0.0500")
        #expect(InferencePipeline.similarityText(-0.25) == "-0.2500")
    }
}
