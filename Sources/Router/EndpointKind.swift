/// The kind of inference endpoint a request arrived on.
///
/// Routes filter on it, so `gpt-4o` on `/v1/embeddings` can go somewhere other than
/// `gpt-4o` on `/v1/chat/completions`. The raw values are the words used in policy files.
public enum EndpointKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// `POST /v1/chat/completions`.
    case chat
    /// `POST /v1/completions`.
    case completion
    /// `POST /v1/embeddings`.
    case embedding
    /// `POST /v1/predict` and the Open Inference Protocol v2 endpoints (tabular models).
    case predict
}
