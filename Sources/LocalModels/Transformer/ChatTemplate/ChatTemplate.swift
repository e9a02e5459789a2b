/// Turns a conversation into the prompt text a model was trained on, as llama.cpp's built-in (non-Jinja) chat
/// templates do: the model's Jinja template is only read to recognise its family (`llm_chat_detect_template`), and
/// the family's format is then written out directly (`llm_chat_apply_template`).
///
/// Families, by the names llama.cpp and a policy's `chat_template = "..."` use: chatml, llama2, llama2-sys,
/// llama2-sys-bos, llama2-sys-strip, mistral-v1, mistral-v3, mistral-v3-tekken, mistral-v7, mistral-v7-tekken,
/// phi3, phi4, falcon3, zephyr, monarch, gemma, orion, openchat, vicuna, vicuna-orca, deepseek, deepseek2,
/// deepseek3, deepseek-ocr, command-r, llama3, chatglm3, chatglm4, glmedge, minicpm, exaone3, exaone4, exaone-moe,
/// rwkv-world, granite, granite-4.0, granite-4.1, gigachat, megrez, yandex, bailing, bailing-think, bailing2,
/// llama4, smolvlm, hunyuan-moe, gpt-oss, hunyuan-dense, hunyuan-vl, kimi-k2, seed_oss, grok-2, pangu-embedded,
/// solar-open, and dots1 (llama.cpp only detects it; it has no name there).
public struct ChatTemplate: Sendable {
    let kind: ChatTemplateFamily

    /// The family's name (see the type's documentation).
    public var family: String { kind.rawValue }

    /// Detects the family from the model's `tokenizer.chat_template` (as llama.cpp's llm_chat_detect_template
    /// does), or uses `override`: a family name, or a template text to detect from. A model without a template gets
    /// chatml, as in llama.cpp. Throws `ChatTemplateError` when the family cannot be recognised.
    public init(modelTemplate: String?, override: String? = nil) throws {
        if let override {
            if let family = ChatTemplateFamily(rawValue: override) ?? ChatTemplateFamily.detect(override) {
                kind = family
                return
            }
            throw ChatTemplateError(
                part: "policy chat_template",
                reason: "'\(override.prefix(80))' is neither a template family nor a template of a known family; "
                    + "families: \(ChatTemplateFamily.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let modelTemplate else {
            kind = .chatml
            return
        }
        guard let family = ChatTemplateFamily.detect(modelTemplate) else {
            throw ChatTemplateError(
                part: "tokenizer.chat_template",
                reason: "the model's template is not one of the known families ("
                    + ChatTemplateFamily.allCases.map(\.rawValue).joined(separator: ", ")
                    + "); a policy can name one with chat_template = \"<family>\"")
        }
        kind = family
    }

    /// The prompt text exactly as llama.cpp's llama_chat_apply_template renders it.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var renderer = ChatTemplateRenderer(messages: messages, addGenerationPrompt: addGenerationPrompt)
        renderer.render(kind)
        return renderer.output
    }

    /// Extra stop strings the family ends a turn with (e.g. "<|im_end|>"), for models whose eos differs.
    public var stopStrings: [String] { kind.stopStrings }
}
