import Foundation
import Testing

@testable import LocalModels

/// Rendered prompts against llama.cpp's llama_chat_apply_template for every built-in family name, the templates of
/// llama.cpp's test-chat-template.cpp and real model templates (chat_templates.json, by
/// scripts/tokenizer_fixtures.py), over several conversations with and without the generation prompt.
@Suite struct ChatTemplateTests {
    struct Fixture: Decodable {
        struct Case: Decodable {
            var name: String
            var template: String
            var outputs: [String: String?]
        }

        var builtins: [String]
        var conversations: [String: [[String]]]
        var cases: [Case]
    }

    static let fixture: Fixture = {
        let data = try! TransformerFixtures.data("tokenizer/chat_templates.json")
        return try! JSONDecoder().decode(Fixture.self, from: data)
    }()

    @Test func everyLlamaCppFamilyIsKnown() {
        let ours = Set(ChatTemplateFamily.allCases.map(\.rawValue)).subtracting(["dots1"])
        #expect(ours == Set(Self.fixture.builtins))
    }

    @Test func rendersAsLlamaCpp() throws {
        var differences: [String] = []
        for c in Self.fixture.cases {
            let template = try? ChatTemplate(modelTemplate: c.template)
            for (key, expected) in c.outputs.sorted(by: { $0.key < $1.key }) {
                let parts = key.split(separator: "/")
                let messages = Self.fixture.conversations[String(parts[0])]!.map {
                    ChatMessage(role: $0[0], content: $0[1])
                }
                let rendered = template?.render(messages, addGenerationPrompt: parts[1] == "1")
                if rendered != expected {
                    differences.append("\(c.name) [\(key)] family \(template?.family ?? "none"): "
                        + "\(rendered.debugDescription) != \(expected.debugDescription)")
                }
            }
        }
        let shown = differences.prefix(10).joined(separator: "\n")
        #expect(differences.isEmpty, "\(differences.count) differences:\n\(shown)")
    }

    @Test func policyOverrideNamesAFamily() throws {
        let template = try ChatTemplate(modelTemplate: "{{ something unknown }}", override: "llama3")
        #expect(template.family == "llama3")
        #expect(template.stopStrings.contains("<|eot_id|>"))
    }

    @Test func modelWithoutTemplateGetsChatML() throws {
        #expect(try ChatTemplate(modelTemplate: nil).family == "chatml")
    }

    @Test func unknownTemplateExplainsTheWayOut() {
        #expect {
            try ChatTemplate(modelTemplate: "{{ messages }}")
        } throws: { error in
            let error = error as? ChatTemplateError
            return error?.part == "tokenizer.chat_template" && error!.reason.contains("chat_template = ")
                && error!.reason.contains("chatml") && error!.reason.contains("mistral-v7")
        }
        #expect(throws: ChatTemplateError.self) { try ChatTemplate(modelTemplate: nil, override: "no-such-family") }
    }
}
