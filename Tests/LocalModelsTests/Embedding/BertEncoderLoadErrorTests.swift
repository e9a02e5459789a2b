import Foundation
import Testing

@testable import LocalModels

/// A bad file fails with a typed error that says where, and never crashes: truncated, flipped, another
/// architecture, a tensor missing or misshapen.
@Suite struct BertEncoderLoadErrorTests {
    static func load(_ path: String) -> Result<BertEncoder, GGUFLoadError> {
        do {
            return .success(try BertEncoder(path: path, threads: 1))
        } catch let error as GGUFLoadError {
            return .failure(error)
        } catch {
            Issue.record("not a GGUFLoadError: \(error)")
            return .failure(GGUFLoadError(file: path, part: "", reason: "\(error)"))
        }
    }

    static func temporaryFile(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("tollgate-embed-\(UUID().uuidString)-\(name).gguf")
        try Data(bytes).write(to: url)
        return url.path
    }

    @Test func anotherArchitectureIsNotAnEmbeddingModel() throws {
        let llama = TransformerFixtures.path("models/llama-gqa-q4_k_s.gguf")
        guard case .failure(let error) = Self.load(llama) else {
            Issue.record("a llama file loaded as an encoder")
            return
        }
        #expect(error.part == "metadata key general.architecture")
        #expect(error.reason.contains("llama"))
    }

    @Test func aMissingTensorIsNamed() {
        guard case .failure(let error) = Self.load(EmbeddingFixtures.path("broken-missing-tensor.gguf")) else {
            Issue.record("loaded without blk.1.ffn_down.weight")
            return
        }
        #expect(error.part == "tensor blk.1.ffn_down.weight")
        #expect(error.reason.contains("missing"))
    }

    @Test func aMisshapenTensorIsNamed() {
        guard case .failure(let error) = Self.load(EmbeddingFixtures.path("broken-shape.gguf")) else {
            Issue.record("loaded with a half-width blk.0.attn_k.weight")
            return
        }
        #expect(error.part == "tensor blk.0.attn_k.weight")
        #expect(error.reason.contains("shape"))
    }

    @Test func aMissingFileIsAnError() {
        guard case .failure(let error) = Self.load("/nonexistent/model.gguf") else {
            Issue.record("loaded a file that does not exist")
            return
        }
        #expect(error.reason.contains("cannot open"))
    }

    /// Every prefix of the file at many offsets (all of the header and metadata region, then strides through the
    /// tensor data) fails to load with a GGUFLoadError.
    @Test(arguments: ["tiny-uncased-q8_0.gguf", "tiny-uncased-f16.gguf"])
    func truncatedFilesFailToLoad(file: String) throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: EmbeddingFixtures.path(file))))
        let metadataEnd = try GGUFFile(path: EmbeddingFixtures.path(file)).tensors.map(\.fileOffset).min()!
        var offsets = Array(stride(from: 0, to: metadataEnd, by: 7)) + Array(stride(from: metadataEnd, to: bytes.count, by: 997))
        offsets.append(bytes.count - 1)
        let path = try Self.temporaryFile([], "truncated")
        defer { try? FileManager.default.removeItem(atPath: path) }
        for offset in offsets {
            try Data(bytes[0..<offset]).write(to: URL(fileURLWithPath: path))
            if case .success = Self.load(path) { Issue.record("\(file) cut at \(offset) of \(bytes.count) loaded") }
        }
    }

    /// Single bytes flipped all over the header, metadata and tensor table: each file either fails with a
    /// GGUFLoadError or loads and embeds without crashing (a flip inside a string or a weight is still a model).
    @Test func flippedBytesNeverCrash() throws {
        let file = "tiny-uncased-q8_0.gguf"
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: EmbeddingFixtures.path(file))))
        let metadataEnd = try GGUFFile(path: EmbeddingFixtures.path(file)).tensors.map(\.fileOffset).min()!
        let path = try Self.temporaryFile([], "flipped")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var rejected = 0
        var loaded = 0
        // Every fifth byte of the first 4 KiB (header, sizes, keys, the start of the vocabulary), a spread over
        // the rest of the metadata and tensor table, and a few in the weights.
        var offsets = Array(stride(from: 0, to: min(metadataEnd, 4096), by: 5))
        offsets += Array(stride(from: min(metadataEnd, 4096), to: metadataEnd, by: 61))
        offsets += Array(stride(from: metadataEnd, to: bytes.count, by: 1009))
        for offset in offsets {
            var copy = bytes
            copy[offset] ^= [0xFF, 0x01, 0x80, 0x10][offset % 4]
            try Data(copy).write(to: URL(fileURLWithPath: path))
            switch Self.load(path) {
            case .failure:
                rejected += 1
            case .success(let encoder):
                loaded += 1
                let vectors = encoder.embed(["the quick brown fox", "", "我想在工作 3.14 [SEP]"])
                #expect(vectors.count == 3, "byte \(offset)")
            }
        }
        #expect(rejected > 0)
        #expect(loaded > 0)
    }
}
