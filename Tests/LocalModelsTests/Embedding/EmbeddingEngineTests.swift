import Foundation
import Testing

@testable import LocalModels

@Suite struct EmbeddingEngineTests {
    static let corpus = EmbeddingFixtures.cases.corpus

    static func engine(
        _ file: String = "tiny-uncased-q8_0.gguf",
        _ configuration: EmbeddingEngineConfiguration = EmbeddingEngineConfiguration()
    ) throws -> EmbeddingEngine {
        try EmbeddingEngine(path: EmbeddingFixtures.path(file), threads: 2, configuration: configuration)
    }

    @Test func embedsTextsWithTheirTokenCounts() async throws {
        let engine = try Self.engine()
        defer { engine.shutdown() }
        let model = EmbeddingFixtures.cases.models[0]
        let result = try await engine.embed(Self.corpus)
        #expect(result.vectors == (try engine.encoder.embed(tokenized: model.token_ids)))
        #expect(result.tokenCounts == model.token_ids.map(\.count))
        #expect(result.promptTokens == model.token_ids.reduce(0) { $0 + $1.count })
        #expect(result.truncatedCount == 0)
        let empty = try await engine.embed([])
        #expect(empty.vectors.isEmpty && empty.promptTokens == 0)
    }

    /// Many concurrent callers, each with a few texts: every one gets exactly the vectors of its own texts, and
    /// the engine batched some of them together.
    @Test func concurrentCallersGetTheirOwnVectors() async throws {
        let engine = try Self.engine()
        defer { engine.shutdown() }
        let expected = engine.encoder.embed(Self.corpus)
        try await withThrowingTaskGroup(of: (Int, EmbeddingResult).self) { group in
            for caller in 0..<48 {
                group.addTask {
                    let indices = (0..<(1 + caller % 4)).map { (caller * 7 + $0 * 3) % Self.corpus.count }
                    return (caller, try await engine.embed(indices.map { Self.corpus[$0] }))
                }
            }
            for try await (caller, result) in group {
                let indices = (0..<(1 + caller % 4)).map { (caller * 7 + $0 * 3) % Self.corpus.count }
                #expect(result.vectors == indices.map { expected[$0] }, "caller \(caller)")
            }
        }
        let stats = engine.snapshot
        #expect(stats.requestsCompleted == 48)
        #expect(stats.batches < 48)
        #expect(stats.texts == (0..<48).reduce(0) { $0 + 1 + $1 % 4 })
    }

    @Test func longTextsAreCutOrRefused() async throws {
        let long = String(repeating: "token ", count: 200)
        let cutting = try Self.engine()
        defer { cutting.shutdown() }
        let cut = try await cutting.embed([long, "hello"])
        #expect(cut.tokenCounts == [cutting.encoder.configuration.contextLength, 3])
        #expect(cut.truncatedCount == 1)

        var strict = EmbeddingEngineConfiguration()
        strict.truncate = false
        let refusing = try Self.engine("tiny-uncased-q8_0.gguf", strict)
        defer { refusing.shutdown() }
        await #expect(throws: EngineError.self) { try await refusing.embed(["hello", long]) }
        let fine = try await refusing.embed(["hello"])
        #expect(fine.vectors.count == 1)
    }

    @Test func aFullQueueRefusesAndAStoppedEngineRefuses() async throws {
        var small = EmbeddingEngineConfiguration()
        small.maxQueued = 1
        small.maxBatchTexts = 1
        let engine = try Self.engine("small-cased-f32.gguf", small)
        // A long request keeps the engine busy while the callback API floods the queue: one more may wait.
        let outcomes = LockedOutcomes()
        engine.submit(Array(repeating: String(repeating: "Hello world ", count: 10), count: 400)) { outcomes.append($0) }
        for _ in 0..<20 { engine.submit(["hello"]) { outcomes.append($0) } }
        let refused = outcomes.failures(.queueFull)
        #expect(refused >= 18)
        #expect(engine.snapshot.requestsRejected == refused)
        engine.shutdown()
        do {
            _ = try await engine.embed(["hello"])
            Issue.record("a stopped engine took a request")
        } catch {
            #expect(error.code == .stopped)
        }
    }
}

final class LockedOutcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [Result<EmbeddingResult, EngineError>] = []

    func append(_ outcome: Result<EmbeddingResult, EngineError>) {
        lock.lock()
        outcomes.append(outcome)
        lock.unlock()
    }

    func failures(_ code: EngineError.Code) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return outcomes.filter {
            if case .failure(let e) = $0 { return e.code == code }
            return false
        }.count
    }
}
