extension PolicyFileReader {
    static let backendKeys = [
        "type", "url", "url_env", "replicas", "api_key_env", "model", "affinity", "affinity_prefix_chars",
        "timeout_seconds", "connect_timeout_seconds", "circuit_breaker",
    ]

    static let forestKeys = [
        "type", "file", "format", "feature_names", "class_labels", "version", "price_per_1k_rows",
        "batch_wait_us", "max_batch_rows", "inline_max_us",
    ]

    static let languageModelKeys = [
        "type", "file", "file_env", "context_size", "threads", "max_queue", "prefill_chunk", "default_max_tokens",
        "kv_cache_type", "chat_template", "price_per_1m_input_tokens", "price_per_1m_output_tokens", "timeout_seconds",
        "prefix_cache_bytes", "max_batch",
    ]

    /// Default prompt prefix hashed by `affinity = "prefix"`: long enough to cover a
    /// typical system prompt, short enough to hash in well under a microsecond.
    static let defaultAffinityPrefixChars = 512

    /// `[backends.<name>]`. Always returns a backend (with defaults where values were
    /// wrong), so that routes naming it are not also reported as unknown.
    func readBackend(_ name: String, _ table: TableReader) -> BackendPolicy {
        let line = diagnostics.locator.line(for: table.path)
        var backend = BackendPolicy(name: name, replicas: [], file: diagnostics.file, line: line)
        if table.string("type") == BackendPolicy.BackendType.forest.rawValue {
            table.checkKeys(Self.forestKeys)
            backend.type = .forest
            backend.forest = readForest(table)
            return backend
        }
        if table.string("type") == BackendPolicy.BackendType.gguf.rawValue {
            table.checkKeys(Self.languageModelKeys)
            backend.type = .gguf
            backend.languageModel = readLanguageModel(table, backend: &backend)
            if let seconds = table.number("timeout_seconds") { backend.timeoutSeconds = seconds }
            return backend
        }
        table.checkKeys(Self.backendKeys)
        if let type = table.string("type") {
            if let known = BackendPolicy.BackendType(rawValue: type) {
                backend.type = known
            } else {
                let expected = BackendPolicy.BackendType.allCases.map(\.rawValue).joined(separator: ", ")
                table.invalid("type", "unknown backend type '\(type)'; expected one of \(expected)")
            }
        }
        backend.apiKeyEnv = table.string("api_key_env")
        backend.apiKey = backend.apiKeyEnv.flatMap { environment[$0] }.flatMap { $0.isEmpty ? nil : $0 }
        readLocation(of: &backend, table)
        backend.upstreamModel = table.string("model")
        readAffinity(of: &backend, table)
        if let seconds = table.number("timeout_seconds") { backend.timeoutSeconds = seconds }
        if let seconds = table.number("connect_timeout_seconds") { backend.connectTimeoutSeconds = seconds }
        if let breaker = table.table("circuit_breaker") {
            breaker.checkKeys(["failure_threshold", "cooldown_seconds", "half_open_probes"])
            if let value = breaker.integer("failure_threshold", in: 1...Int.max) {
                backend.circuitBreaker.failureThreshold = value
            }
            if let value = breaker.number("cooldown_seconds", allowZero: true) {
                backend.circuitBreaker.cooldownSeconds = value
            }
            if let value = breaker.integer("half_open_probes", in: 1...Int.max) {
                backend.circuitBreaker.halfOpenProbes = value
            }
        }
        return backend
    }

    /// `url_env` (when the variable is set) wins over `url` and `replicas`. The variable
    /// may hold several URLs separated by commas. When it is unset and nothing else is
    /// given, the backend loads as unconfigured instead of failing the whole policy:
    /// that is the state of a fresh install.
    private func readLocation(of backend: inout BackendPolicy, _ table: TableReader) {
        let url = table.string("url")
        let urlEnv = table.string("url_env")
        let replicas = table.strings("replicas")
        if url != nil, replicas != nil {
            table.invalid("replicas", "set either url or replicas, not both")
        }
        if let urlEnv, let value = environment[urlEnv], !value.allSatisfy(\.isWhitespace) {
            let urls = value.split(separator: ",").map { String($0.trimmingWhitespace()) }
            backend.replicas = validated(urls) { _, reason in
                table.invalid("url_env", "\(urlEnv) (from the environment): \(reason)")
            }
        } else if let url {
            backend.replicas = validated([url]) { _, reason in table.invalid("url", reason) }
        } else if let replicas {
            guard !replicas.isEmpty else {
                table.invalid("replicas", "must list at least one base URL")
                return
            }
            backend.replicas = validated(replicas) { index, reason in
                let path = table.path.appending("replicas")
                diagnostics.report(.invalidValue, at: path, line: path.appending(index: index), reason)
            }
        } else if let urlEnv {
            var reason = "no upstream configured for backend '\(backend.name)': set \(urlEnv) (base URL ending in /v1)"
            if let keyEnv = backend.apiKeyEnv { reason += " and \(keyEnv)" }
            backend.unconfiguredReason = reason
        } else if table.entries["url"] == nil, table.entries["replicas"] == nil {
            table.missing("url", "backend '\(backend.name)' needs url, url_env or replicas")
        }
    }

    /// The valid URLs, normalised; `report(index, reason)` for each bad or repeated one.
    private func validated(_ urls: [String], report: (Int, String) -> Void) -> [String] {
        var result: [String] = []
        for (index, url) in urls.enumerated() {
            switch UpstreamURL.validate(url) {
            case .success(let normalized):
                if result.contains(normalized) {
                    report(index, "'\(url)' is listed twice")
                } else {
                    result.append(normalized)
                }
            case .failure(let problem):
                report(index, problem.reason)
            }
        }
        return result
    }

    private func readAffinity(of backend: inout BackendPolicy, _ table: TableReader) {
        let chars = table.integer("affinity_prefix_chars", in: 1...1_000_000)
        let written = table.node("affinity") != nil
        switch table.string("affinity") {
        case "prefix":
            backend.affinity = .prefix(chars: chars ?? Self.defaultAffinityPrefixChars)
        case let value where value == "none" || (value == nil && !written):
            if table.has("affinity_prefix_chars") {
                table.invalid("affinity_prefix_chars", "only applies with affinity = \"prefix\"")
            }
        case let other?:
            table.invalid("affinity", "unknown affinity '\(other)'; expected one of none, prefix")
        case nil:
            break  // Not a string; already reported.
        }
    }

    /// `type = "forest"`: a model file served in-process.
    private func readForest(_ table: TableReader) -> ForestModelSpec {
        var spec = ForestModelSpec(path: "")
        if let file = table.string("file") {
            spec.path = Self.resolve(file, relativeTo: diagnostics.file)
        } else if !table.has("file") {
            table.missing("file", "a forest backend needs the path of its model file")
        }
        if let format = table.string("format") {
            let formats = ["onnx", "xgboost", "lightgbm"]
            if formats.contains(format) {
                spec.format = format
            } else {
                table.invalid("format", "unknown model format '\(format)'; expected one of \(formats.joined(separator: ", "))")
            }
        }
        if let names = table.strings("feature_names") {
            if names.isEmpty {
                table.invalid("feature_names", "must list at least one name; leave the key out for unnamed features")
            } else if Set(names).count != names.count {
                table.invalid("feature_names", "feature names must be unique")
            } else {
                spec.featureNames = names
            }
        }
        if let labels = table.strings("class_labels") {
            if labels.count < 2 {
                table.invalid("class_labels", "a classifier has at least two classes")
            } else {
                spec.classLabels = labels
            }
        }
        if let version = table.string("version") { spec.version = version }
        if let price = table.number("price_per_1k_rows", allowZero: true) { spec.pricePer1kRows = price }
        if let wait = table.integer("batch_wait_us", in: 0...100_000) { spec.batchWaitMicros = wait }
        if let rows = table.integer("max_batch_rows", in: 1...1_000_000) { spec.maxBatchRows = rows }
        if let inline = table.integer("inline_max_us", in: 0...1_000) { spec.inlineMaxMicros = inline }
        return spec
    }

    /// `type = "gguf"`: a language model file run in-process. `file_env` (when set in the
    /// environment) wins over `file`; when it is unset and there is no `file`, the backend loads as
    /// unconfigured, like an upstream whose `url_env` is unset.
    private func readLanguageModel(_ table: TableReader, backend: inout BackendPolicy) -> LanguageModelSpec {
        var spec = LanguageModelSpec(path: "")
        let fileEnv = table.string("file_env")
        spec.pathEnv = fileEnv
        if let fileEnv, let value = environment[fileEnv], !value.allSatisfy(\.isWhitespace) {
            spec.path = Self.resolve(String(value.trimmingWhitespace()), relativeTo: diagnostics.file)
        } else if let file = table.string("file") {
            spec.path = Self.resolve(file, relativeTo: diagnostics.file)
        } else if let fileEnv {
            backend.unconfiguredReason =
                "no local model configured for backend '\(backend.name)': set \(fileEnv) to the path of a GGUF file"
        } else if !table.has("file") {
            table.missing("file", "a gguf backend needs the path of its model file (file or file_env)")
        }
        if let value = table.integer("context_size", in: 0...1_048_576) { spec.contextSize = value }
        if let value = table.integer("threads", in: 0...256) { spec.threads = value }
        if let value = table.integer("max_queue", in: 1...100_000) { spec.maxQueue = value }
        if let value = table.integer("prefill_chunk", in: 1...65_536) { spec.prefillChunk = value }
        if let value = table.integer("max_batch", in: 1...256) { spec.maxBatch = value }
        if let value = table.integer("default_max_tokens", in: 1...1_048_576) { spec.defaultMaxTokens = value }
        if let value = table.string("kv_cache_type") {
            if ["f16", "f32"].contains(value) {
                spec.kvCacheType = value
            } else {
                table.invalid("kv_cache_type", "unknown KV cache type '\(value)'; expected one of f16, f32")
            }
        }
        if let value = table.string("chat_template") { spec.chatTemplate = value }
        if let value = table.integer("prefix_cache_bytes", in: 0...(1 << 44)) { spec.prefixCacheBytes = value }
        if let price = table.number("price_per_1m_input_tokens", allowZero: true) { spec.pricePer1MInputTokens = price }
        if let price = table.number("price_per_1m_output_tokens", allowZero: true) { spec.pricePer1MOutputTokens = price }
        return spec
    }

    /// A path as written in a policy file: absolute, or relative to that file's folder.
    static func resolve(_ path: String, relativeTo file: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let slash = file.lastIndex(of: "/") else { return path }
        return String(file[..<slash]) + "/" + path
    }
}
