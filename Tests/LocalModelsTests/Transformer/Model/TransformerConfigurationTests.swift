import Testing

@testable import LocalModels

@Suite struct TransformerConfigurationTests {
    @Test(arguments: ModelFixtures.all)
    func readsTheShapeTheFixtureWasWrittenWith(_ model: ModelFixtures.Model) throws {
        let c = try TransformerConfiguration(gguf: GGUFFile(path: model.path))
        let s = model.shape
        #expect(c.architecture.rawValue == model.architecture)
        #expect(c.vocabularySize == s.vocabularySize)
        #expect(c.embeddingLength == s.embeddingLength)
        #expect(c.blockCount == s.layerCount)
        #expect(c.headCount == s.headCount)
        #expect(c.kvHeadCount == s.keyValueHeadCount)
        #expect(c.headDimension == s.headDimension)
        #expect(c.feedForwardLength == s.feedForwardLength)
        #expect(c.ropeFrequencyBase == s.ropeFrequencyBase)
        #expect(c.rmsEpsilon == s.rmsNormEpsilon)
        #expect(c.ropeDimensionCount == s.headDimension)
        #expect(c.ropeFrequencyScale == 1)
        #expect(c.rotaryStyle == (model.architecture == "qwen2" ? .halves : .adjacentPairs))
    }

    private func load(editing edit: (inout GGUFTestWriter) -> Void) throws -> TransformerConfiguration {
        var writer = GGUFTestWriter(copying: try GGUFFile(path: ModelFixtures.model("llama-mha-f32.gguf").path))
        edit(&writer)
        return try TransformerConfiguration(gguf: writer.open())
    }

    @Test func refusesOtherArchitecturesByName() throws {
        let error = #expect(throws: GGUFLoadError.self) {
            try load { $0.set("general.architecture", .string("gpt2")) }
        }
        #expect(error?.part == "metadata key general.architecture")
        #expect(error?.reason == "unsupported architecture gpt2 (llama, qwen2)")
    }

    @Test func namesAMissingKey() throws {
        let error = #expect(throws: GGUFLoadError.self) {
            try load { $0.remove(metadata: "llama.embedding_length") }
        }
        #expect(error?.part == "metadata key llama.embedding_length")
        #expect(error?.reason == "missing")
    }

    @Test func readsLinearRopeScalingAndRefusesYaRN() throws {
        let linear = try load {
            $0.set("llama.rope.scaling.type", .string("linear"))
            $0.set("llama.rope.scaling.factor", .float32(4))
        }
        #expect(linear.ropeFrequencyScale == 0.25)
        let none = try load {
            $0.set("llama.rope.scaling.type", .string("none"))
            $0.set("llama.rope.scaling.factor", .float32(4))
        }
        #expect(none.ropeFrequencyScale == 1)
        let error = #expect(throws: GGUFLoadError.self) {
            try load { $0.set("llama.rope.scaling.type", .string("yarn")) }
        }
        #expect(error?.reason == "unsupported rope scaling yarn (none, linear)")
    }

    @Test func defaultsFollowLlamaCpp() throws {
        let c = try load {
            $0.remove(metadata: "llama.rope.freq_base")
            $0.remove(metadata: "llama.rope.dimension_count")
            $0.remove(metadata: "llama.attention.head_count_kv")
        }
        #expect(c.ropeFrequencyBase == 10000)
        #expect(c.ropeDimensionCount == c.embeddingLength / c.headCount)
        #expect(c.kvHeadCount == c.headCount)
    }

    @Test func refusesKvHeadsThatDoNotDivideTheHeads() throws {
        let error = #expect(throws: GGUFLoadError.self) {
            try load { $0.set("llama.attention.head_count_kv", .uint32(3)) }
        }
        #expect(error?.part == "metadata key llama.attention.head_count_kv")
    }
}
