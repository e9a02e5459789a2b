import Testing

@testable import Router

@Suite struct LanguageModelPolicyTests {
    static let policy = PolicySource(
        path: "/etc/tollgate/policies/local.toml",
        text: """
            [backends.local]
            type = "gguf"
            file = "../models/qwen.gguf"
            context_size = 2048
            threads = 2
            max_queue = 8
            max_batch = 4
            kv_cache_type = "f32"
            chat_template = "chatml"
            price_per_1m_input_tokens = 0.05
            price_per_1m_output_tokens = 0.2
            prefix_cache_bytes = 1048576

            [backends.env-model]
            type = "gguf"
            file_env = "LOCAL_MODEL"

            [[routes]]
            name = "local"
            kinds = ["chat", "completion"]
            models = ["qwen"]
            backends = ["local"]
            fallbacks = ["env-model"]
            """
    )

    @Test func ggufBackendReadsEveryKey() throws {
        let table = try PolicyLoader.load(sources: [Self.policy], environment: [:]).get()
        let backend = try #require(table.backends["local"])
        #expect(backend.type == .gguf)
        #expect(backend.isConfigured)
        let spec = try #require(backend.languageModel)
        #expect(spec.path == "/etc/tollgate/policies/../models/qwen.gguf")
        #expect(spec.contextSize == 2048 && spec.threads == 2 && spec.maxQueue == 8)
        #expect(spec.prefixCacheBytes == 1_048_576)
        #expect(spec.maxBatch == 4)
        #expect(table.backends["env-model"]?.languageModel?.maxBatch == 8, "unset: 8")
        #expect(table.backends["env-model"]?.languageModel?.prefixCacheBytes == nil, "unset: the engine's default")
        #expect(spec.kvCacheType == "f32" && spec.chatTemplate == "chatml")
        #expect(spec.pricePer1MInputTokens == 0.05 && spec.pricePer1MOutputTokens == 0.2)
        #expect(spec.prefillChunk == 256 && spec.defaultMaxTokens == 512)
    }

    @Test func fileEnvUnsetLoadsAsUnconfiguredAndNamesTheVariable() throws {
        let table = try PolicyLoader.load(sources: [Self.policy], environment: [:]).get()
        let backend = try #require(table.backends["env-model"])
        #expect(!backend.isConfigured)
        #expect(backend.unconfiguredReason?.contains("set LOCAL_MODEL to the path of a GGUF file") == true)

        let set = try PolicyLoader.load(sources: [Self.policy], environment: ["LOCAL_MODEL": "/m/x.gguf"]).get()
        #expect(set.backends["env-model"]?.languageModel?.path == "/m/x.gguf")
        #expect(set.backends["env-model"]?.isConfigured == true)
    }

    @Test func badValuesAndWrongKindsAreReported() throws {
        let source = PolicySource(
            path: "p.toml",
            text: """
                [backends.m]
                type = "gguf"
                kv_cache_type = "q4"
                url = "http://x/v1"

                [[routes]]
                name = "r"
                kinds = ["predict"]
                models = ["*"]
                backends = ["m"]
                """
        )
        guard case .failure(let errors) = PolicyLoader.load(sources: [source], environment: [:]) else {
            Issue.record("expected errors")
            return
        }
        let keys = errors.errors.map(\.key)
        #expect(keys.contains("backends.m"))  // the missing `file` is reported on the table
        #expect(keys.contains("backends.m.kv_cache_type"))
        #expect(keys.contains("backends.m.url"))
        #expect(errors.errors.contains { $0.reason.contains("predict routes need forest backends") })
    }
}
