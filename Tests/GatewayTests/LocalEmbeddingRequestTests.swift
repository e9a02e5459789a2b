import Cache
import Foundation
import LocalModels
import Testing

@testable import Gateway

/// Reading an embeddings request for the local encoder and writing its answer.
@Suite struct LocalEmbeddingRequestTests {
    @Test func inputsAndEncodingAreRead() throws {
        let one = try LocalEmbeddingRequest(body: ["input": "a"], dimensions: 4)
        #expect(one.inputs == ["a"] && !one.base64)
        let many = try LocalEmbeddingRequest(
            body: ["input": ["a", "b"], "encoding_format": "base64", "dimensions": 4], dimensions: 4)
        #expect(many.inputs == ["a", "b"] && many.base64)
    }

    @Test func theAnswerIsOpenAIsShapeInBothEncodings() throws {
        let result = EmbeddingResult(vectors: [[0.5, -0.25, 1e-7, 1]], tokenCounts: [3])
        let floats = try LocalEmbeddingRequest(body: ["input": "a"], dimensions: 4)
        let body = try JSONParser.parse(floats.responseBody(result, model: "minilm"))
        #expect(body["object"]?.stringValue == "list" && body["model"]?.stringValue == "minilm")
        #expect(body["usage"]?["prompt_tokens"]?.intValue == 3 && body["usage"]?["total_tokens"]?.intValue == 3)
        let item = try #require(body["data"]?.arrayValue?.first)
        #expect(item["object"]?.stringValue == "embedding" && item["index"]?.intValue == 0)
        let values = try #require(item["embedding"]?.arrayValue).compactMap(\.doubleValue).map(Float.init)
        #expect(values == [0.5, -0.25, 1e-7, 1])

        let encoded = try LocalEmbeddingRequest(body: ["input": "a", "encoding_format": "base64"], dimensions: 4)
        let text = try #require(try JSONParser.parse(encoded.responseBody(result, model: "m"))["data"]?.arrayValue?.first?["embedding"]?.stringValue)
        let bytes = try #require(Data(base64Encoded: text))
        // Little-endian float32s, as OpenAI sends them.
        #expect(Array(bytes.prefix(4)) == [0x00, 0x00, 0x00, 0x3F])
        let decoded = bytes.withUnsafeBytes { raw in (0..<4).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) } }
        #expect(decoded == [0.5, -0.25, 1e-7, 1])
    }

    @Test(arguments: [
        (["model": "m"] as JSONObject, "input"),
        (["input": []] as JSONObject, "input"),
        (["input": ["a", ""]] as JSONObject, "input"),
        (["input": [1, 2]] as JSONObject, "input"),
        (["input": 5] as JSONObject, "input"),
        (["input": "a", "encoding_format": "int8"] as JSONObject, "encoding_format"),
        (["input": "a", "dimensions": 3] as JSONObject, "dimensions"),
    ])
    func badRequestsNameTheField(body: JSONObject, param: String) {
        #expect {
            try LocalEmbeddingRequest(body: body, dimensions: 4)
        } throws: { error in
            (error as? GatewayError)?.param == param && (error as? GatewayError)?.status == .badRequest
        }
    }
}
