import Foundation
import Testing

@testable import LocalModels

/// Replaying a recorded greedy completion gives what the engine itself gives for the request it
/// answers: the same prompt with fewer tokens, or the prompt plus the start of the completion,
/// with or without stop strings. Checked against real engine runs on a committed model.
@Suite struct CompletionReplayTests {
    typealias Engine = TransformerEngineTests

    /// A greedy completion of the fixture prompt, cut by its length (no end of generation).
    static func recorded(maxTokens: Int = 24) throws -> (LanguageModel, TransformerEngine<LanguageModel>, [Int32], EngineEventCollector.Outcome) {
        let model = try Engine.loadModel()
        let engine = TransformerEngine(predictor: model, tokenizer: model.tokenizer)
        let prompt = try #require(Engine.fixture.greedyPrompt).tokens
        let outcome = try Engine.run(engine, Engine.greedy(prompt, maxTokens: maxTokens))
        #expect(outcome.summary?.finishReason == .length && outcome.tokens.count == maxTokens)
        return (model, engine, prompt, outcome)
    }

    static func text(_ result: CompletionReplay.Result) -> String {
        result.events.reduce(into: "") { text, event in
            if case .text(let piece, _) = event { text += piece }
        }
    }

    static func ids(_ result: CompletionReplay.Result) -> [Int32] {
        result.events.flatMap { event -> [Int32] in
            if case .text(_, let tokens) = event { return tokens.map(\.id) }
            return []
        }
    }

    @Test func aContinuedPromptGetsTheRestOfTheCompletionAsTheEngineWouldGiveIt() throws {
        let (model, engine, prompt, original) = try Self.recorded()
        defer { engine.shutdown() }
        for held in [1, 4, 11, 20] {
            let query = prompt + original.tokens.prefix(held).map(\.id)
            let limit = 24 - held
            let replay = try #require(
                CompletionReplay.replay(
                    original.tokens[held...], ending: .limit, tokenizer: model.tokenizer, maxTokens: limit, stop: [],
                    topLogprobs: nil))
            let fresh = try Engine.run(engine, Engine.greedy(query, maxTokens: limit))
            // On F32 the engine's prefill of the longer prompt and its decoding agree to the bit.
            #expect(Self.ids(replay) == fresh.tokens.map(\.id), "held \(held)")
            #expect(Self.text(replay) == fresh.text)
            #expect(replay.finishReason == .length && replay.completionTokens == limit)
        }
    }

    @Test func aSmallerTokenLimitCutsTheCompletionWithLength() throws {
        let (model, engine, prompt, original) = try Self.recorded()
        defer { engine.shutdown() }
        for limit in [1, 7, 23] {
            let replay = try #require(
                CompletionReplay.replay(
                    original.tokens[...], ending: .limit, tokenizer: model.tokenizer, maxTokens: limit, stop: [],
                    topLogprobs: nil))
            let fresh = try Engine.run(engine, Engine.greedy(prompt, maxTokens: limit))
            #expect(Self.ids(replay) == fresh.tokens.map(\.id))
            #expect(Self.text(replay) == fresh.text)
            #expect(replay.finishReason == .length && fresh.summary?.finishReason == .length)
        }
        // More tokens than were recorded, from a completion that was itself cut: not answerable.
        #expect(
            CompletionReplay.replay(
                original.tokens[...], ending: .limit, tokenizer: model.tokenizer, maxTokens: 25, stop: [],
                topLogprobs: nil) == nil)
        #expect(
            CompletionReplay.replay(
                original.tokens[...], ending: .stopString, tokenizer: model.tokenizer, maxTokens: 40, stop: [],
                topLogprobs: nil) == nil)
    }

    @Test func stopStringsCutTheReplayWhereTheyCutTheEngine() throws {
        let (model, engine, prompt, original) = try Self.recorded()
        defer { engine.shutdown() }
        // A stop string made of a token's text from the middle of the completion.
        let middle = try #require(original.tokens.dropFirst(6).first { !$0.text.trimmingCharacters(in: .whitespaces).isEmpty })
        let stop = [middle.text]
        let replay = try #require(
            CompletionReplay.replay(
                original.tokens[...], ending: .limit, tokenizer: model.tokenizer, maxTokens: 24, stop: stop, topLogprobs: nil))
        let fresh = try Engine.run(engine, Engine.greedy(prompt, maxTokens: 24, stop: stop))
        #expect(replay.finishReason == .stop && fresh.summary?.finishReason == .stop)
        #expect(Self.text(replay) == fresh.text)
        #expect(replay.completionTokens == fresh.summary?.completionTokens)
        // What the engine ran with decides how the record ended.
        #expect(
            CompletionReplay.ending(of: fresh.tokens, finishReason: .stop, tokenizer: model.tokenizer, stop: stop)
                == .stopString)
        #expect(
            CompletionReplay.ending(of: fresh.tokens, finishReason: .stop, tokenizer: model.tokenizer, stop: []) == .endOfGeneration)
        #expect(CompletionReplay.ending(of: original.tokens, finishReason: .length, tokenizer: model.tokenizer, stop: []) == .limit)
    }

    @Test func aCompletionThatEndedByItselfAnswersAnyLargerLimitWithStop() throws {
        let (model, engine, _, original) = try Self.recorded(maxTokens: 8)
        defer { engine.shutdown() }
        let replay = try #require(
            CompletionReplay.replay(
                original.tokens[2...], ending: .endOfGeneration, tokenizer: model.tokenizer, maxTokens: 100, stop: [],
                topLogprobs: nil))
        #expect(replay.finishReason == .stop && replay.completionTokens == 6)
        #expect(Self.text(replay) == model.tokenizer.decode(original.tokens.dropFirst(2).map(\.id)))
        // Exactly as many as remain: the limit is reached first, as in the engine.
        let exact = try #require(
            CompletionReplay.replay(
                original.tokens[2...], ending: .endOfGeneration, tokenizer: model.tokenizer, maxTokens: 6, stop: [],
                topLogprobs: nil))
        #expect(exact.finishReason == .length)
    }

    @Test func alternativesAreCutToWhatTheRequestAsks() throws {
        let model = try Engine.loadModel()
        let engine = TransformerEngine(predictor: model, tokenizer: model.tokenizer)
        defer { engine.shutdown() }
        let prompt = Engine.fixture.prompts[0].tokens
        let recorded = try Engine.run(engine, Engine.greedy(prompt, maxTokens: 4, logprobs: 5))
        #expect(recorded.tokens.allSatisfy { $0.top.count == 5 })
        let replay = try #require(
            CompletionReplay.replay(
                recorded.tokens[...], ending: .limit, tokenizer: model.tokenizer, maxTokens: 4, stop: [], topLogprobs: 2))
        let fresh = try Engine.run(engine, Engine.greedy(prompt, maxTokens: 4, logprobs: 2))
        let replayed = replay.events.flatMap { event -> [GeneratedToken] in
            if case .text(_, let tokens) = event { return tokens }
            return []
        }
        #expect(replayed == fresh.tokens)
        #expect(abs(replay.sumLogProbability - Double(fresh.tokens.reduce(0) { $0 + $1.logProbability })) < 1e-4)
    }
}
