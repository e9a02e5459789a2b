import Foundation
import Testing

@testable import LocalModels

/// The sampler's filters against llama.cpp's own samplers (penalties, top-k, top-p, min-p, chained in
/// llama.cpp's order) on the cases `scripts/transformer_fixtures.py` ran through llama_cpp: the same
/// tokens must survive, with bit-identical penalised logits.
struct TokenSamplerLlamaReferenceTests {
    struct Case: Decodable, CustomTestStringConvertible {
        var name: String
        var logits: [Double]
        var history: [Int32]
        var penalty_window: Int
        var repetition_penalty: Float
        var frequency_penalty: Float
        var presence_penalty: Float
        var top_k: Int
        var top_p: Float
        var min_p: Float
        var kept_ids: [Int32]
        var kept_logits: [Double]

        var testDescription: String { name }

        var parameters: SamplingParameters {
            SamplingParameters(
                topK: top_k,
                topP: top_p,
                minP: min_p,
                repetitionPenalty: repetition_penalty,
                frequencyPenalty: frequency_penalty,
                presencePenalty: presence_penalty,
                penaltyWindow: penalty_window
            )
        }
    }

    struct File: Decodable {
        var cases: [Case]
    }

    static let cases: [Case] = {
        guard let data = try? TransformerFixtures.data("models/sampling.json"),
            let file = try? JSONDecoder().decode(File.self, from: data)
        else { return [] }
        return file.cases
    }()

    @Test func theFixtureIsPresent() {
        #expect(Self.cases.count >= 8)
    }

    @Test(arguments: cases)
    func keepsWhatLlamaCppKeeps(_ reference: Case) {
        var sampler = TokenSampler(parameters: reference.parameters)
        var logits = reference.logits.map { Float($0) }
        logits.withUnsafeMutableBufferPointer { buffer in
            if sampler.parameters.hasPenalties {
                sampler.applyPenalties(to: buffer, history: reference.history[...])
            }
            sampler.truncate(UnsafeBufferPointer(buffer))
        }
        let kept = sampler.candidates.sorted { $0.id < $1.id }
        #expect(kept.map(\.id) == reference.kept_ids)
        #expect(kept.map(\.logit) == reference.kept_logits.map { Float($0) })
    }
}
