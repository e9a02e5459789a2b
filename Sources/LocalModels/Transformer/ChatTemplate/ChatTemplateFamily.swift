/// The prompt formats llama.cpp writes without a Jinja engine, named as in its `LLM_CHAT_TEMPLATES` table.
enum ChatTemplateFamily: String, CaseIterable, Sendable {
    case chatml
    case llama2
    case llama2Sys = "llama2-sys"
    case llama2SysBOS = "llama2-sys-bos"
    case llama2SysStrip = "llama2-sys-strip"
    case mistralV1 = "mistral-v1"
    case mistralV3 = "mistral-v3"
    case mistralV3Tekken = "mistral-v3-tekken"
    case mistralV7 = "mistral-v7"
    case mistralV7Tekken = "mistral-v7-tekken"
    case phi3
    case phi4
    case falcon3
    case zephyr
    case monarch
    case gemma
    case orion
    case openchat
    case vicuna
    case vicunaOrca = "vicuna-orca"
    case deepseek
    case deepseek2
    case deepseek3
    case deepseekOCR = "deepseek-ocr"
    case commandR = "command-r"
    case llama3
    case chatglm3
    case chatglm4
    case glmedge
    case minicpm
    case exaone3
    case exaone4
    case exaoneMoE = "exaone-moe"
    case rwkvWorld = "rwkv-world"
    case granite
    case granite40 = "granite-4.0"
    case granite41 = "granite-4.1"
    case gigachat
    case megrez
    case yandex
    case bailing
    case bailingThink = "bailing-think"
    case bailing2
    case llama4
    case smolvlm
    case hunyuanMoE = "hunyuan-moe"
    case gptOSS = "gpt-oss"
    case hunyuanDense = "hunyuan-dense"
    case hunyuanVL = "hunyuan-vl"
    case kimiK2 = "kimi-k2"
    case seedOSS = "seed_oss"
    case grok2 = "grok-2"
    case panguEmbedded = "pangu-embedded"
    case solarOpen = "solar-open"
    case dots1

    /// llama.cpp's `llm_chat_detect_template`: a family name, or the first family whose marker strings the
    /// template contains (the order matters: many templates contain several markers).
    static func detect(_ template: String) -> ChatTemplateFamily? {
        if let named = ChatTemplateFamily(rawValue: template), named != .dots1 { return named }
        let text = Array(template.utf8)
        func has(_ marker: String) -> Bool { ChatTemplateFamily.contains(text, Array(marker.utf8)) }
        if has("<|im_start|>") {
            return has("<|im_sep|>") ? .phi4 : has("<end_of_utterance>") ? .smolvlm : .chatml
        }
        if text.starts(with: Array("mistral".utf8)) || has("[INST]") {
            if has("[SYSTEM_PROMPT]") { return .mistralV7 }
            if has("' [INST] ' + system_message") || has("[AVAILABLE_TOOLS]") {
                if has(" [INST]") { return .mistralV1 }
                if has("\"[INST]\"") { return .mistralV3Tekken }
                return .mistralV3
            }
            if has("content.strip()") { return .llama2SysStrip }
            if has("bos_token + '[INST]") { return .llama2SysBOS }
            if has("<<SYS>>") { return .llama2Sys }
            return .llama2
        }
        if has("<|assistant|>") && has("<|end|>") { return .phi3 }
        if has("[gMASK]<sop>") { return .chatglm4 }
        if has("<|assistant|>") && has("<|user|>") {
            if has("<|tool_declare|>") { return .exaoneMoE }
            return has("</s>") ? .falcon3 : .glmedge
        }
        if has("<|{{ item['role'] }}|>") && has("<|begin_of_image|>") { return .glmedge }
        if has("<|user|>") && has("<|endoftext|>") { return .zephyr }
        if has("bos_token + message['role']") { return .monarch }
        if has("<start_of_turn>") { return .gemma }
        if has("'\\n\\nAssistant: ' + eos_token") { return .orion }
        if has("GPT4 Correct ") { return .openchat }
        if has("USER: ") && has("ASSISTANT: ") { return has("SYSTEM: ") ? .vicunaOrca : .vicuna }
        if has("### Instruction:") && has("<|EOT|>") { return .deepseek }
        if has("<|START_OF_TURN_TOKEN|>") && has("<|USER_TOKEN|>") { return .commandR }
        if has("<|start_header_id|>") && has("<|end_header_id|>") { return .llama3 }
        if has("[gMASK]sop") { return .chatglm3 }
        if has("<用户>") { return .minicpm }
        if has("'Assistant: ' + message['content'] + eos_token") { return .deepseek2 }
        if has("<｜Assistant｜>") && has("<｜User｜>") && has("<｜end▁of▁sentence｜>") { return .deepseek3 }
        if has("[|system|]") && has("[|assistant|]") && has("[|endofturn|]") {
            return has("[|tool|]") ? .exaone4 : .exaone3
        }
        if has("rwkv-world") || has("{{- 'User: ' + message['content']|trim + '\\n\\n' -}}") { return .rwkvWorld }
        if has("<|start_of_role|>") {
            if has("<tool_call>") || has("<tools>") {
                return has("g4_default_system_message") ? .granite40 : .granite41
            }
            return .granite
        }
        if has("message['role'] + additional_special_tokens[0] + message['content'] + additional_special_tokens[1]") {
            return .gigachat
        }
        if has("<|role_start|>") { return .megrez }
        if has(" Ассистент:") { return .yandex }
        if has("<role>ASSISTANT</role>") && has("'HUMAN'") { return .bailing }
        if has("<role>ASSISTANT</role>") && has("\"HUMAN\"") && has("<think>") { return .bailingThink }
        if has("<role>ASSISTANT</role>") && has("<role>HUMAN</role>") && has("<|role_end|>") { return .bailing2 }
        if has("<|header_start|>") && has("<|header_end|>") { return .llama4 }
        if has("<|endofuserprompt|>") { return .dots1 }
        if has("<|extra_0|>") && has("<|extra_4|>") { return .hunyuanMoE }
        if has("<|start|>") && has("<|channel|>") { return .gptOSS }
        if has("<｜hy_Assistant｜>") && has("<｜hy_begin▁of▁sentence｜>") { return .hunyuanVL }
        if has("<｜hy_Assistant｜>") && has("<｜hy_place▁holder▁no▁3｜>") { return .hunyuanDense }
        if has("<|im_assistant|>assistant<|im_middle|>") { return .kimiK2 }
        if has("<seed:bos>") { return .seedOSS }
        if has("'Assistant: '  + message['content'] + '<|separator|>") { return .grok2 }
        if has("[unused9]系统：[unused10]") { return .panguEmbedded }
        if has("<|begin|>") && has("<|end|>") && has("<|content|>") { return .solarOpen }
        return nil
    }

    /// Byte-wise substring test (String's own comparison would match canonically equivalent text too).
    static func contains(_ text: [UInt8], _ marker: [UInt8]) -> Bool {
        guard !marker.isEmpty, marker.count <= text.count else { return marker.isEmpty }
        let first = marker[0]
        var i = 0
        let last = text.count - marker.count
        while i <= last {
            if text[i] == first && text[i ..< i + marker.count].elementsEqual(marker) { return true }
            i += 1
        }
        return false
    }

    /// Text that ends an assistant turn in this format, for stopping models whose eos token is something else.
    var stopStrings: [String] {
        switch self {
        case .chatml, .phi4, .kimiK2: ["<|im_end|>"]
        case .llama2, .llama2Sys, .llama2SysBOS, .llama2SysStrip, .mistralV1, .mistralV3, .mistralV3Tekken,
            .mistralV7, .mistralV7Tekken, .monarch, .orion, .vicuna, .vicunaOrca:
            ["</s>"]
        case .phi3, .solarOpen: ["<|end|>"]
        case .zephyr: ["<|endoftext|>"]
        case .gemma: ["<end_of_turn>"]
        case .openchat: ["<|end_of_turn|>"]
        case .deepseek: ["<|EOT|>"]
        case .deepseek2, .deepseek3: ["<｜end▁of▁sentence｜>"]
        case .commandR: ["<|END_OF_TURN_TOKEN|>"]
        case .llama3: ["<|eot_id|>", "<|eom_id|>"]
        case .llama4: ["<|eot|>", "<|eom|>"]
        case .chatglm3, .chatglm4, .glmedge: ["<|user|>", "<|observation|>"]
        case .minicpm: ["<用户>"]
        case .exaone3, .exaone4: ["[|endofturn|]"]
        case .exaoneMoE: ["<|endofturn|>"]
        case .rwkvWorld, .yandex: ["\n\n"]
        case .granite, .granite40, .granite41: ["<|end_of_text|>"]
        case .gigachat: ["<|message_sep|>"]
        case .megrez: ["<|turn_end|>"]
        case .bailing, .bailingThink: ["<role>"]
        case .bailing2: ["<|role_end|>"]
        case .smolvlm: ["<end_of_utterance>"]
        case .dots1: ["<|endofresponse|>"]
        case .hunyuanMoE: ["<|eos|>"]
        case .gptOSS: ["<|return|>", "<|call|>"]
        case .hunyuanDense: ["<｜hy_place▁holder▁no▁2｜>"]
        case .seedOSS: ["<seed:eos>"]
        case .grok2: ["<|separator|>"]
        case .panguEmbedded: ["[unused10]"]
        case .falcon3, .deepseekOCR, .hunyuanVL: []
        }
    }
}
