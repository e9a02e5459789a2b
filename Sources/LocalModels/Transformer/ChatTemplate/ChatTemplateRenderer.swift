/// Writes a conversation in one family's format: a line-by-line port of llama.cpp's `llm_chat_apply_template`,
/// whose quirks (which families trim content, where bos markers go, roles that are silently dropped) are kept
/// because the model was prompted that way by llama.cpp users.
struct ChatTemplateRenderer {
    let messages: [ChatMessage]
    let addGenerationPrompt: Bool
    var output = ""

    init(messages: [ChatMessage], addGenerationPrompt: Bool) {
        self.messages = messages
        self.addGenerationPrompt = addGenerationPrompt
    }

    /// C `isspace` trimming at both ends (ASCII whitespace only), as llama.cpp's `trim`.
    static func trim(_ text: String) -> String {
        let bytes = Array(text.utf8)
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
        var start = 0
        var end = bytes.count
        while start < end && isSpace(bytes[start]) { start += 1 }
        while end > start && isSpace(bytes[end - 1]) { end -= 1 }
        return String(decoding: bytes[start ..< end], as: UTF8.self)
    }

    private mutating func write(_ parts: String...) {
        for part in parts { output += part }
    }

    private mutating func generationPrompt(_ text: String) {
        if addGenerationPrompt { output += text }
    }

    mutating func render(_ family: ChatTemplateFamily) {
        switch family {
        case .chatml:
            for m in messages { write("<|im_start|>", m.role, "\n", m.content, "<|im_end|>\n") }
            generationPrompt("<|im_start|>assistant\n")
        case .mistralV7, .mistralV7Tekken:
            let space = family == .mistralV7 ? " " : ""
            for m in messages {
                switch m.role {
                case "system": write("[SYSTEM_PROMPT]", space, m.content, "[/SYSTEM_PROMPT]")
                case "user": write("[INST]", space, m.content, "[/INST]")
                default: write(space, m.content, "</s>")
                }
            }
        case .mistralV1, .mistralV3, .mistralV3Tekken:
            renderMistral(family)
        case .llama2, .llama2Sys, .llama2SysBOS, .llama2SysStrip:
            renderLlama2(family)
        case .phi3:
            for m in messages { write("<|", m.role, "|>\n", m.content, "<|end|>\n") }
            generationPrompt("<|assistant|>\n")
        case .phi4:
            for m in messages { write("<|im_start|>", m.role, "<|im_sep|>", m.content, "<|im_end|>") }
            generationPrompt("<|im_start|>assistant<|im_sep|>")
        case .falcon3:
            for m in messages { write("<|", m.role, "|>\n", m.content, "\n") }
            generationPrompt("<|assistant|>\n")
        case .zephyr:
            for m in messages { write("<|", m.role, "|>", "\n", m.content, "<|endoftext|>\n") }
            generationPrompt("<|assistant|>\n")
        case .monarch:
            for (i, m) in messages.enumerated() { write(i == 0 ? "" : "<s>", m.role, "\n", m.content, "</s>\n") }
            generationPrompt("<s>assistant\n")
        case .gemma:
            renderGemma()
        case .orion:
            var system = ""
            for m in messages {
                if m.role == "system" {
                    system += m.content
                } else if m.role == "user" {
                    write("Human: ")
                    if !system.isEmpty {
                        write(system, "\n\n")
                        system = ""
                    }
                    write(m.content, "\n\nAssistant: </s>")
                } else {
                    write(m.content, "</s>")
                }
            }
        case .openchat:
            for m in messages {
                if m.role == "system" {
                    write(m.content, "<|end_of_turn|>")
                } else {
                    write("GPT4 Correct ", Self.capitalizeFirstByte(m.role), ": ", m.content, "<|end_of_turn|>")
                }
            }
            generationPrompt("GPT4 Correct Assistant:")
        case .vicuna, .vicunaOrca:
            for m in messages {
                switch m.role {
                case "system":
                    if family == .vicunaOrca { write("SYSTEM: ", m.content, "\n") } else { write(m.content, "\n\n") }
                case "user": write("USER: ", m.content, "\n")
                case "assistant": write("ASSISTANT: ", m.content, "</s>\n")
                default: break
                }
            }
            generationPrompt("ASSISTANT:")
        case .deepseek:
            for m in messages {
                switch m.role {
                case "system": write(m.content)
                case "user": write("### Instruction:\n", m.content, "\n")
                case "assistant": write("### Response:\n", m.content, "\n<|EOT|>\n")
                default: break
                }
            }
            generationPrompt("### Response:\n")
        case .commandR:
            for m in messages {
                let role: String
                switch m.role {
                case "system": role = "<|SYSTEM_TOKEN|>"
                case "user": role = "<|USER_TOKEN|>"
                case "assistant": role = "<|CHATBOT_TOKEN|>"
                default: continue
                }
                write("<|START_OF_TURN_TOKEN|>", role, Self.trim(m.content), "<|END_OF_TURN_TOKEN|>")
            }
            generationPrompt("<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>")
        case .llama3:
            for m in messages {
                write("<|start_header_id|>", m.role, "<|end_header_id|>\n\n", Self.trim(m.content), "<|eot_id|>")
            }
            generationPrompt("<|start_header_id|>assistant<|end_header_id|>\n\n")
        default:
            renderOther(family)
        }
    }

    private mutating func renderMistral(_ family: ChatTemplateFamily) {
        let leading = family == .mistralV1 ? " " : ""
        let trailing = family == .mistralV3Tekken ? "" : " "
        let trimAssistant = family == .mistralV3
        var insideTurn = false
        for m in messages {
            if !insideTurn {
                write(leading, "[INST]", trailing)
                insideTurn = true
            }
            switch m.role {
            case "system": write(m.content, "\n\n")
            case "user": write(m.content, leading, "[/INST]")
            default:
                write(trailing, trimAssistant ? Self.trim(m.content) : m.content, "</s>")
                insideTurn = false
            }
        }
    }

    private mutating func renderLlama2(_ family: ChatTemplateFamily) {
        let supportsSystem = family != .llama2
        let bosInHistory = family == .llama2SysBOS
        let strip = family == .llama2SysStrip
        var insideTurn = true
        write("[INST] ")
        for m in messages {
            let content = strip ? Self.trim(m.content) : m.content
            if !insideTurn {
                insideTurn = true
                write(bosInHistory ? "<s>[INST] " : "[INST] ")
            }
            switch m.role {
            case "system":
                if supportsSystem { write("<<SYS>>\n", content, "\n<</SYS>>\n\n") } else { write(content, "\n") }
            case "user": write(content, " [/INST]")
            default:
                write(content, "</s>")
                insideTurn = false
            }
        }
    }

    private mutating func renderGemma() {
        var system = ""
        for m in messages {
            if m.role == "system" {
                system += Self.trim(m.content)
                continue
            }
            let role = m.role == "assistant" ? "model" : m.role
            write("<start_of_turn>", role, "\n")
            if !system.isEmpty && role != "model" {
                write(system, "\n\n")
                system = ""
            }
            write(Self.trim(m.content), "<end_of_turn>\n")
        }
        generationPrompt("<start_of_turn>model\n")
    }

    /// `role[0] = toupper(role[0])` (ASCII only).
    static func capitalizeFirstByte(_ role: String) -> String {
        var bytes = Array(role.utf8)
        if let first = bytes.first, first >= 0x61 && first <= 0x7A { bytes[0] = first - 0x20 }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `std::transform(..., ::toupper)` (ASCII only).
    static func uppercasedASCII(_ role: String) -> String {
        String(decoding: role.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self)
    }
}
