import Cache
import Foundation
import LocalModels

/// An OpenAI embeddings request read for a local encoder: the texts and the encoding asked
/// for, validated (a 400 naming the field for anything the encoder cannot honour).
struct LocalEmbeddingRequest: Sendable {
    var inputs: [String]
    /// `encoding_format: "base64"`: each vector as the base64 of its little-endian float32s (what
    /// the `openai` Python SDK asks for by default, and decodes itself).
    var base64: Bool

    /// OpenAI's own bound on inputs per request.
    static let maxInputs = 2048

    init(body: JSONObject, dimensions: Int) throws(GatewayError) {
        switch body["input"] {
        case .string(let text)?:
            inputs = [text]
        case .array(let items)? where !items.isEmpty:
            var texts: [String] = []
            texts.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                guard let text = item.stringValue else {
                    if item.intValue != nil || item.arrayValue != nil {
                        throw .badRequest(
                            "input[\(index)]: the local embedding model takes text, not token ids.", param: "input")
                    }
                    throw .badRequest("input must be a string or an array of strings.", param: "input")
                }
                texts.append(text)
            }
            inputs = texts
        case .array?:
            throw .badRequest("input must not be an empty array.", param: "input")
        case nil, .null?:
            throw .badRequest("input is required.", param: "input")
        default:
            throw .badRequest("input must be a string or an array of strings.", param: "input")
        }
        guard inputs.count <= Self.maxInputs else {
            throw .badRequest("input takes at most \(Self.maxInputs) texts per request.", param: "input")
        }
        if let index = inputs.firstIndex(where: \.isEmpty) {
            throw .badRequest("input[\(index)] is empty.", param: "input")
        }
        switch body["encoding_format"] {
        case nil, .null?: base64 = false
        case .string("float")?: base64 = false
        case .string("base64")?: base64 = true
        default: throw .badRequest("encoding_format must be \"float\" or \"base64\".", param: "encoding_format")
        }
        if let value = body["dimensions"], !value.isNull, value.intValue != dimensions {
            throw .badRequest(
                "This model's embeddings have \(dimensions) dimensions; dimensions can only be \(dimensions).",
                param: "dimensions")
        }
    }

    /// The OpenAI response body: one embedding object per input, in order, and the usage.
    func responseBody(_ result: EmbeddingResult, model: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(result.vectors.count * (base64 ? 2100 : 4800) + 160)
        out.append(contentsOf: #"{"object":"list","data":["#.utf8)
        for (index, vector) in result.vectors.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"object":"embedding","index":"#.utf8)
            out.append(contentsOf: String(index).utf8)
            out.append(contentsOf: #","embedding":"#.utf8)
            if base64 {
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: Self.base64(vector).utf8)
                out.append(UInt8(ascii: "\""))
            } else {
                out.append(UInt8(ascii: "["))
                for (i, value) in vector.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    // The shortest text that reads back as the same float32; never NaN or infinite here.
                    out.append(contentsOf: (value.isFinite ? value : 0).description.utf8)
                }
                out.append(UInt8(ascii: "]"))
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: #"],"model":"#.utf8)
        JSONText.appendQuoted(model, to: &out)
        let tokens = String(result.promptTokens)
        out.append(contentsOf: #","usage":{"prompt_tokens":"#.utf8)
        out.append(contentsOf: tokens.utf8)
        out.append(contentsOf: #","total_tokens":"#.utf8)
        out.append(contentsOf: tokens.utf8)
        out.append(contentsOf: "}}".utf8)
        return out
    }

    static func base64(_ vector: [Float]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(vector.count * 4)
        for value in vector {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return Data(bytes).base64EncodedString()
    }
}
