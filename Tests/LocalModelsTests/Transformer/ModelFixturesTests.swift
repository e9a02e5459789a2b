import LocalModels
import Testing

/// The llama.cpp reference fixtures are what the engine's tests trust, so check they are whole:
/// every file opens with our GGUF reader and holds exactly the tensors and types llama.cpp reported.
struct ModelFixturesTests {
    @Test func everyEngineTypeIsCovered() {
        let present = Set(ModelFixtures.all.flatMap(\.tensorTypes.keys))
        for type in ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q4_K", "Q5_K", "Q6_K"] {
            #expect(present.contains(type), "no fixture holds \(type)")
        }
        #expect(Set(ModelFixtures.all.map(\.architecture)) == ["llama", "qwen2"])
        #expect(ModelFixtures.all.contains { !$0.pure })
    }

    @Test(arguments: ModelFixtures.all)
    func theFileMatchesTheManifest(_ model: ModelFixtures.Model) throws {
        let file = try GGUFFile(path: model.path)
        #expect(file.fileSize == model.bytes)
        #expect(file.architecture == model.architecture)
        #expect(file.integer("\(model.architecture).embedding_length") == model.shape.embeddingLength)
        #expect(file.integer("\(model.architecture).attention.head_count_kv") == model.shape.keyValueHeadCount)
        var types: [String: Int] = [:]
        for tensor in file.tensors {
            types[tensor.type.description, default: 0] += 1
            #expect(model.tensors[tensor.name] == tensor.type.description, "\(tensor.name)")
        }
        #expect(types == model.tensorTypes)
        #expect(file.tensors.count == model.tensors.count)
        #expect((file.tensor(named: "output.weight") == nil) == model.shape.tiedEmbeddings)
        let embedding = try #require(file.tensor(named: "token_embd.weight"))
        #expect(embedding.shape == [model.shape.embeddingLength, model.shape.vocabularySize])
    }

    @Test(arguments: ModelFixtures.all)
    func theReferenceOutputsAreWhole(_ model: ModelFixtures.Model) throws {
        #expect(model.prompts.count >= 3)
        var greedyLogits: [Float] = []
        for prompt in model.prompts {
            let logits = try prompt.referenceLogits()
            if prompt.greedyTokens != nil { greedyLogits = logits }
            #expect(prompt.logitsShape == [prompt.tokens.count, model.shape.vocabularySize])
            #expect(logits.count == prompt.tokens.count * model.shape.vocabularySize)
            let finite = logits.allSatisfy { $0.isFinite }
            #expect(finite)
            #expect(prompt.topTwoMargins.count == prompt.tokens.count)
            let vocabulary = Int32(model.shape.vocabularySize)
            let tokensInRange = prompt.tokens.allSatisfy { $0 >= 0 && $0 < vocabulary }
            #expect(tokensInRange)
        }
        let greedy = try #require(model.prompts.first { $0.greedyTokens != nil })
        #expect(greedy.greedyTokens?.count == 32 && greedy.greedyMargins?.count == 32)
        // The first greedy token is the argmax of the prompt's last logits row, lowest id on ties.
        let vocabulary = model.shape.vocabularySize
        #expect(greedy.greedyTokens?.first == Int32(argmax(greedyLogits[(greedyLogits.count - vocabulary)...])))
    }
}
