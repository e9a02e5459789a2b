extension ChatTemplateRenderer {
    /// The families after llama3 in llama.cpp's `llm_chat_apply_template`.
    mutating func renderOther(_ family: ChatTemplateFamily) {
        switch family {
        case .chatglm3:
            output += "[gMASK]sop"
            for m in messages { output += "<|\(m.role)|>\n \(m.content)" }
            if addGenerationPrompt { output += "<|assistant|>" }
        case .chatglm4:
            output += "[gMASK]<sop>"
            for m in messages { output += "<|\(m.role)|>\n\(m.content)" }
            if addGenerationPrompt { output += "<|assistant|>\n" }
        case .glmedge:
            for m in messages { output += "<|\(m.role)|>\n\(m.content)" }
            if addGenerationPrompt { output += "<|assistant|>" }
        case .minicpm:
            for m in messages {
                output += m.role == "user" ? "<用户>\(Self.trim(m.content))<AI>" : Self.trim(m.content)
            }
        case .deepseek2:
            for m in messages {
                switch m.role {
                case "system": output += "\(m.content)\n\n"
                case "user": output += "User: \(m.content)\n\n"
                case "assistant": output += "Assistant: \(m.content)<｜end▁of▁sentence｜>"
                default: break
                }
            }
            if addGenerationPrompt { output += "Assistant:" }
        case .deepseek3:
            for m in messages {
                switch m.role {
                case "system": output += "\(m.content)\n\n"
                case "user": output += "<｜User｜>\(m.content)"
                case "assistant": output += "<｜Assistant｜>\(m.content)<｜end▁of▁sentence｜>"
                default: break
                }
            }
            if addGenerationPrompt { output += "<｜Assistant｜>" }
        case .deepseekOCR:
            for m in messages { output += m.content }
        case .exaone3, .exaone4:
            for m in messages {
                let content = Self.trim(m.content)
                switch m.role {
                case "system": output += "[|system|]\(content)[|endofturn|]\n"
                case "user": output += "[|user|]\(content)\n"
                case "assistant": output += "[|assistant|]\(content)[|endofturn|]\n"
                case "tool" where family == .exaone4: output += "[|tool|]\(content)[|endofturn|]\n"
                default: break
                }
            }
            if addGenerationPrompt { output += "[|assistant|]" }
        case .exaoneMoE:
            for m in messages where ["system", "user", "assistant", "tool"].contains(m.role) {
                output += "<|\(m.role)|>\n\(Self.trim(m.content))<|endofturn|>\n"
            }
            if addGenerationPrompt { output += "<|assistant|>\n" }
        case .rwkvWorld:
            for (i, m) in messages.enumerated() {
                switch m.role {
                case "system": output += "System: \(Self.trim(m.content))\n\n"
                case "user":
                    output += "User: \(Self.trim(m.content))\n\n"
                    if i == messages.count - 1 { output += "Assistant:" }
                case "assistant": output += "Assistant: \(Self.trim(m.content))\n\n"
                default: break
                }
            }
        case .granite:
            for m in messages {
                output += "<|start_of_role|>\(m.role)<|end_of_role|>"
                if m.role == "assistant_tool_call" { output += "<|tool_call|>" }
                output += "\(m.content)<|end_of_text|>\n"
            }
            if addGenerationPrompt { output += "<|start_of_role|>assistant<|end_of_role|>" }
        case .granite40, .granite41:
            for m in messages {
                if m.role == "assistant_tool_call" {
                    output += "<|start_of_role|>assistant<|end_of_role|><|tool_call|>"
                } else {
                    output += "<|start_of_role|>\(m.role)<|end_of_role|>"
                }
                output += "\(m.content)<|end_of_text|>\n"
            }
            if addGenerationPrompt { output += "<|start_of_role|>assistant<|end_of_role|>" }
        case .gigachat:
            let hasSystem = messages.first?.role == "system"
            output += hasSystem ? "<s>\(messages[0].content)<|message_sep|>" : "<s>"
            for m in messages.dropFirst(hasSystem ? 1 : 0) {
                if m.role == "user" {
                    output += "user<|role_sep|>\(m.content)<|message_sep|>"
                    output += "available functions<|role_sep|>[]<|message_sep|>"
                } else if m.role == "assistant" {
                    output += "assistant<|role_sep|>\(m.content)<|message_sep|>"
                }
            }
            if addGenerationPrompt { output += "assistant<|role_sep|>" }
        case .megrez:
            for m in messages { output += "<|role_start|>\(m.role)<|role_end|>\(m.content)<|turn_end|>" }
            if addGenerationPrompt { output += "<|role_start|>assistant<|role_end|>" }
        case .yandex:
            for m in messages {
                if m.role == "user" {
                    output += " Пользователь: \(m.content)\n\n"
                } else if m.role == "assistant" {
                    output += " Ассистент: \(m.content)\n\n"
                }
            }
            if addGenerationPrompt { output += " Ассистент:[SEP]" }
        case .bailing, .bailingThink:
            for m in messages {
                let role = m.role == "user" ? "HUMAN" : Self.uppercasedASCII(m.role)
                output += "<role>\(role)</role>\(m.content)"
            }
            if addGenerationPrompt {
                output += "<role>ASSISTANT</role>"
                if family == .bailingThink { output += "<think>" }
            }
        case .bailing2:
            if messages.first?.role != "system" { output += "<role>SYSTEM</role>detailed thinking off<|role_end|>" }
            for m in messages {
                let role = m.role == "user" ? "HUMAN" : Self.uppercasedASCII(m.role)
                output += "<role>\(role)</role>\(m.content)<|role_end|>"
            }
            if addGenerationPrompt { output += "<role>ASSISTANT</role>" }
        case .llama4:
            for m in messages {
                output += "<|header_start|>\(m.role)<|header_end|>\n\n\(Self.trim(m.content))<|eot|>"
            }
            if addGenerationPrompt { output += "<|header_start|>assistant<|header_end|>\n\n" }
        case .smolvlm:
            output += "<|im_start|>"
            for m in messages {
                switch m.role {
                case "system": output += "\(m.content)\n\n"
                case "user": output += "User: \(m.content)<end_of_utterance>\n"
                default: output += "Assistant: \(m.content)<end_of_utterance>\n"
                }
            }
            if addGenerationPrompt { output += "Assistant:" }
        case .dots1:
            for m in messages {
                switch m.role {
                case "system": output += "<|system|>\(m.content)<|endofsystem|>"
                case "user": output += "<|userprompt|>\(m.content)<|endofuserprompt|>"
                default: output += "<|response|>\(m.content)<|endofresponse|>"
                }
            }
            if addGenerationPrompt { output += "<|response|>" }
        case .hunyuanMoE:
            for m in messages {
                switch m.role {
                case "system": output += "<|startoftext|>\(m.content)<|extra_4|>"
                case "assistant": output += "\(m.content)<|eos|>"
                default: output += "<|startoftext|>\(m.content)<|extra_0|>"
                }
            }
        case .gptOSS:
            for m in messages {
                output += "<|start|>\(m.role)<|message|>\(m.content)"
                output += m.role == "assistant" ? "<|return|>" : "<|end|>"
            }
            if addGenerationPrompt { output += "<|start|>assistant" }
        case .hunyuanDense:
            for (i, m) in messages.enumerated() {
                if i == 0 && m.role == "system" { output += "\(m.content)<｜hy_place▁holder▁no▁3｜>" }
                if m.role == "assistant" {
                    output += "<｜hy_Assistant｜>\(m.content)<｜hy_place▁holder▁no▁2｜>"
                } else if m.role == "user" {
                    output += "<｜hy_User｜>\(m.content)<｜hy_Assistant｜>"
                }
            }
        case .hunyuanVL:
            output += "<｜hy_begin▁of▁sentence｜>"
            for (i, m) in messages.enumerated() {
                if i == 0 && m.role == "system" {
                    output += "\(m.content)<｜hy_place▁holder▁no▁3｜>"
                    continue
                }
                if m.role == "user" {
                    output += "\(m.content)<｜hy_User｜>"
                } else if m.role == "assistant" {
                    output += "\(m.content)<｜hy_Assistant｜>"
                }
            }
        case .kimiK2:
            for m in messages {
                switch m.role {
                case "system": output += "<|im_system|>system<|im_middle|>"
                case "user": output += "<|im_user|>user<|im_middle|>"
                case "assistant": output += "<|im_assistant|>assistant<|im_middle|>"
                case "tool": output += "<|im_system|>tool<|im_middle|>"
                default: break
                }
                output += "\(m.content)<|im_end|>"
            }
            if addGenerationPrompt { output += "<|im_assistant|>assistant<|im_middle|>" }
        case .seedOSS:
            for m in messages {
                output += "<seed:bos>\(m.role)\n\(m.role == "assistant" ? Self.trim(m.content) : m.content)<seed:eos>"
            }
            if addGenerationPrompt { output += "<seed:bos>assistant\n" }
        case .grok2:
            for m in messages {
                switch m.role {
                case "system": output += "System: \(Self.trim(m.content))<|separator|>\n\n"
                case "user": output += "Human: \(Self.trim(m.content))<|separator|>\n\n"
                case "assistant": output += "Assistant: \(m.content)<|separator|>\n\n"
                default: break
                }
            }
            if addGenerationPrompt { output += "Assistant:" }
        case .panguEmbedded:
            for (i, m) in messages.enumerated() {
                if i == 0 && m.role != "system" { output += "[unused9]系统：[unused10]" }
                let label: String
                switch m.role {
                case "system": label = "系统"
                case "user": label = "用户"
                case "assistant": label = "助手"
                case "tool": label = "工具"
                case "function": label = "方法"
                default: continue
                }
                output += "[unused9]\(label)：\(m.content)[unused10]"
            }
            if addGenerationPrompt { output += "[unused9]助手：" }
        case .solarOpen:
            for m in messages { output += "<|begin|>\(m.role)<|content|>\(m.content)<|end|>" }
            if addGenerationPrompt { output += "<|begin|>assistant" }
        default:
            preconditionFailure("family \(family.rawValue) is rendered by render(_:)")
        }
    }
}
