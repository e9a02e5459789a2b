import Cache
import LocalModels

/// One local completion written down as it goes: the SSE payloads in order (chat's role chunk
/// first), the JSON answer they assemble into, and the tokens behind them. The engine's
/// events and a replay from the continuation index go through the same transcript, so both
/// answer in the same shape.
struct LocalTranscript {
    private(set) var writer: LocalChunkWriter
    private var assembler: CompletionAssembler
    private(set) var events: [[UInt8]] = []
    /// Every generated token, with its log-probabilities, in order.
    private(set) var tokens: [GeneratedToken] = []
    private var started = false

    init(writer: LocalChunkWriter, endpoint: String) {
        self.writer = writer
        self.assembler = CompletionAssembler(endpoint: endpoint)
    }

    /// The transcript of the answer to `request`, named after it.
    init(request: InferenceRequest, logprobs: Int?) {
        let writer = LocalChunkWriter(
            kind: request.kind, model: request.match.requestedModel, logprobs: logprobs,
            created: Int(Clock.wallNow()), id: (request.kind == .chat ? "chatcmpl-" : "cmpl-") + request.requestID)
        self.init(writer: writer, endpoint: request.kind.rawValue)
    }

    /// The payloads for new text (the role chunk first, the first time), and whether the
    /// stream opened with them.
    mutating func text(_ text: String, tokens generated: [GeneratedToken]) -> (payloads: [[UInt8]], opened: Bool) {
        let opening = open()
        tokens.append(contentsOf: generated)
        let chunk = writer.textChunk(text, tokens: generated)
        record(chunk)
        return (opening.payloads + [chunk], opening.opened)
    }

    /// The finish and usage payloads (the usage one last), whether the stream opened with
    /// them, where the usage payload sits in `events`, and the assembled JSON answer.
    mutating func finish(_ summary: GenerationSummary) -> (payloads: [[UInt8]], opened: Bool, usageIndex: Int, body: [UInt8]) {
        let opening = open()
        let finish = writer.finishChunk(summary.finishReason)
        record(finish)
        let usage = writer.usageChunk(summary)
        let usageIndex = events.count
        record(usage)
        let body = (try? assembler.assembled()) ?? []
        return (opening.payloads + [finish, usage], opening.opened, usageIndex, body)
    }

    /// The chat stream's opening role chunk, the first time anything is written.
    private mutating func open() -> (payloads: [[UInt8]], opened: Bool) {
        guard !started else { return ([], false) }
        started = true
        guard writer.kind == .chat else { return ([], true) }
        let role = writer.roleChunk()
        record(role)
        return ([role], true)
    }

    private mutating func record(_ payload: [UInt8]) {
        events.append(payload)
        try? assembler.add(event: payload)
    }
}
