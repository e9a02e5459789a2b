/// The text path after sampling, shared by the engine and by replays of recorded completions
/// (`CompletionReplay`), so the two cannot disagree: each token's bytes go through the
/// streaming decoder (whole UTF-8 characters only) and the stop matcher (text that may begin a
/// stop string held back), and the tokens are grouped with the text they complete.
struct CompletionText {
    private var decoder: StreamingTextDecoder
    private var stops: StopSequenceMatcher
    private var pending: [GeneratedToken] = []

    init(tokenizer: Tokenizer, stop: [String]) {
        decoder = StreamingTextDecoder(tokenizer: tokenizer)
        stops = StopSequenceMatcher(stops: stop)
    }

    /// Adds a generated token: the `.text` event it completes (nil while text is held back),
    /// and whether a stop string ended the completion with it.
    mutating func append(_ token: GeneratedToken) -> (event: GenerationEvent?, stopped: Bool) {
        pending.append(token)
        let (text, stopped) = stops.append(decoder.append(token.id))
        guard !text.isEmpty || stopped else { return (nil, false) }
        defer { pending.removeAll() }
        return (.text(text, tokens: pending), stopped)
    }

    /// What the decoder and the stop matcher still hold, as final text (the completion ended
    /// for another reason), and whether that text held a stop string after all.
    mutating func finish() -> (event: GenerationEvent?, stopped: Bool) {
        let (tail, stopped) = stops.append(decoder.finish())
        let rest = stopped ? tail : tail + stops.finish()
        defer { pending.removeAll() }
        return (!rest.isEmpty || !pending.isEmpty ? .text(rest, tokens: pending) : nil, stopped)
    }
}
