#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A BERT sentence encoder loaded from a `bert` GGUF file (all-MiniLM-L6-v2 and its kind): WordPiece tokens in,
/// one L2-normalised vector per text out.
///
/// The forward pass is batched: every token of every text goes through each weight matrix in one matrix-matrix
/// product (activations quantised to the weights' dot type, as llama.cpp does), attention runs per text and head
/// (bidirectional, each text sees only its own tokens), then each text's states are pooled. Calls from several
/// threads are safe; they share the thread pool, which serialises their parallel sections.
public final class BertEncoder: @unchecked Sendable {
    public let configuration: BertConfiguration
    public let tokenizer: WordPieceTokenizer
    /// The mapped file the weight matrices point into.
    public let file: GGUFFile
    let weights: BertWeights
    let pool: EngineThreadPool?

    /// Opens `path`; `threads` is the number of threads a forward pass uses, the caller included (0: one per core).
    public convenience init(path: String, threads: Int = 0) throws {
        let file = try GGUFFile(path: path)
        let count = threads > 0 ? threads : max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        try self.init(file: file, pool: count > 1 ? EngineThreadPool(threads: count) : nil)
    }

    /// Throws `GGUFLoadError` for a file that is not a BERT encoder this engine runs: another architecture, a
    /// missing or misshapen tensor, a tokenizer that is not WordPiece.
    public convenience init(file: GGUFFile, pool: EngineThreadPool?) throws {
        try self.init(file: file, pool: pool, stackProjections: true)
    }

    init(file: GGUFFile, pool: EngineThreadPool?, stackProjections: Bool) throws {
        let configuration = try BertConfiguration(gguf: file)
        self.tokenizer = try WordPieceTokenizer(gguf: file)
        self.weights = try BertWeights(file: file, configuration: configuration, stackProjections: stackProjections)
        self.configuration = configuration
        self.file = file
        self.pool = pool
    }

    /// Threads a forward pass runs on, the caller included.
    public var threadCount: Int { pool?.threadCount ?? 1 }

    /// The embedding's length.
    public var dimensions: Int { configuration.embeddingLength }

    /// `[CLS] pieces [SEP]` of `text`, cut to the model's input limit.
    public func tokenize(_ text: String) -> [Int32] {
        tokenizer.encode(text, maxLength: configuration.maxInputTokens)
    }

    /// One vector per text (tokenised and cut to the model's input limit), in order.
    public func embed(_ texts: [String], maxBatchTokens: Int = 2048) -> [[Float]] {
        // Every sequence from the tokenizer is valid.
        (try? embed(tokenized: texts.map(tokenize), maxBatchTokens: maxBatchTokens)) ?? []
    }

    /// One vector per token sequence, in order; each sequence is a whole input (`[CLS] ... [SEP]`). Sequences go
    /// through the model in batches of at most `maxBatchTokens` tokens (a longer sequence alone).
    ///
    /// Throws `TransformerError` before any work for an empty sequence, one longer than the context, or a token
    /// outside the vocabulary.
    public func embed(tokenized sequences: [[Int32]], maxBatchTokens: Int = 2048) throws(TransformerError) -> [[Float]] {
        for (index, sequence) in sequences.enumerated() {
            guard !sequence.isEmpty else {
                throw TransformerError(.invalidRequest, "input \(index) has no tokens")
            }
            guard sequence.count <= configuration.contextLength else {
                throw TransformerError(
                    .contextOverflow,
                    "input \(index) has \(sequence.count) tokens; the model takes at most \(configuration.contextLength)"
                )
            }
            if let bad = sequence.first(where: { $0 < 0 || Int($0) >= configuration.vocabularySize }) {
                throw TransformerError(.invalidToken, "input \(index): token \(bad) is outside the vocabulary")
            }
        }
        var vectors: [[Float]] = []
        vectors.reserveCapacity(sequences.count)
        var start = 0
        while start < sequences.count {
            var end = start + 1
            var tokens = sequences[start].count
            while end < sequences.count, tokens + sequences[end].count <= maxBatchTokens {
                tokens += sequences[end].count
                end += 1
            }
            vectors += forward(sequences[start..<end])
            start = end
        }
        return vectors
    }
}
