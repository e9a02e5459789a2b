/// Re-emits the tokens of a recorded deterministic completion as the engine would for a request
/// whose prompt already holds the first of them, or that allows fewer tokens: the same text
/// events (a UTF-8 character split over tokens held back, stop strings matched and cut), the
/// same finish reason, and no model work.
///
/// Only exact for what the engine would sample the same way again: greedy requests (whose
/// penalties see the same history, prompt and generated tokens alike), or seeded ones that
/// start where the recorded one started (the generator has made no draws yet).
public enum CompletionReplay {
    /// Why a recorded completion ended, which says whether anything is known past its last token.
    public enum Ending: Sendable, Hashable {
        /// The model chose to end: the next token was an end-of-generation token.
        case endOfGeneration
        /// A stop string appeared; what the model would have said next was never computed.
        case stopString
        /// A token limit (the request's or the context's).
        case limit
    }

    public struct Result: Sendable {
        /// `.text` events only, in order.
        public var events: [GenerationEvent]
        public var finishReason: FinishReason
        public var completionTokens: Int
        public var sumLogProbability: Double
    }

    /// The answer to a request from `tokens`, the recorded completion's tokens after those its
    /// prompt holds; nil when they run out before the request would end and the recorded
    /// completion did not end at the end of generation. `maxTokens` is the request's limit
    /// after the context's room is taken into account, as the engine counts it. Alternatives
    /// are cut to `topLogprobs`.
    public static func replay(
        _ tokens: ArraySlice<GeneratedToken>,
        ending: Ending,
        tokenizer: Tokenizer,
        maxTokens: Int,
        stop: [String],
        topLogprobs: Int?
    ) -> Result? {
        var scan = Scan(tokenizer: tokenizer, stop: stop, topLogprobs: topLogprobs)
        switch scan.run(tokens, limit: max(1, maxTokens)) {
        case .stopString: return scan.result(.stop)
        case .limit: return scan.finish(.length)
        case .exhausted: return ending == .endOfGeneration ? scan.finish(.stop) : nil
        }
    }

    /// How a completion that the engine finished with `finishReason` ended, from its tokens and
    /// the stop strings it ran with.
    public static func ending(
        of tokens: [GeneratedToken], finishReason: FinishReason, tokenizer: Tokenizer, stop: [String]
    ) -> Ending {
        guard finishReason == .stop else { return .limit }
        var scan = Scan(tokenizer: tokenizer, stop: stop, topLogprobs: 0)
        return scan.run(tokens[...], limit: .max) == .stopString ? .stopString : .endOfGeneration
    }

    /// The engine's path after sampling (`CompletionText`, as `GenerationRun` uses it), over
    /// tokens already chosen.
    private struct Scan {
        enum Stop { case stopString, limit, exhausted }

        var text: CompletionText
        let topLogprobs: Int
        var events: [GenerationEvent] = []
        var generated = 0
        var sumLogProbability = 0.0

        init(tokenizer: Tokenizer, stop: [String], topLogprobs: Int?) {
            text = CompletionText(tokenizer: tokenizer, stop: stop)
            self.topLogprobs = max(0, topLogprobs ?? 0)
        }

        mutating func run(_ tokens: ArraySlice<GeneratedToken>, limit: Int) -> Stop {
            for var token in tokens {
                if token.top.count > topLogprobs { token.top.removeLast(token.top.count - topLogprobs) }
                generated += 1
                sumLogProbability += Double(token.logProbability)
                let (event, stopped) = text.append(token)
                if let event { events.append(event) }
                if stopped { return .stopString }
                if generated >= limit { return .limit }
            }
            return .exhausted
        }

        /// Whatever the decoder and the stop matcher still hold becomes final text.
        mutating func finish(_ reason: FinishReason) -> Result {
            let (event, stopped) = text.finish()
            if let event { events.append(event) }
            return result(stopped ? .stop : reason)
        }

        func result(_ reason: FinishReason) -> Result {
            Result(events: events, finishReason: reason, completionTokens: generated, sumLogProbability: sumLogProbability)
        }
    }
}
