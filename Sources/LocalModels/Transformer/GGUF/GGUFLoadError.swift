/// Why a GGUF file could not be loaded: the file, the part of it, and the reason.
///
/// `part` names the place in the file's own terms ("header", "metadata key
/// tokenizer.ggml.tokens", "tensor blk.3.attn_q.weight") so that whoever wrote the file can find it.
public struct GGUFLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var part: String
    public var reason: String

    public init(file: String, part: String, reason: String) {
        self.file = file
        self.part = part
        self.reason = reason
    }

    public var description: String {
        part.isEmpty ? "\(file): \(reason)" : "\(file): \(part): \(reason)"
    }
}
