extension TokenSampler {
    /// llama.cpp's penalties sampler, on the raw logits before any truncation: for each distinct token in the
    /// last `penaltyWindow` tokens of `history`, divide a positive logit by the repetition penalty (multiply a
    /// negative one), then subtract `count * frequencyPenalty + presencePenalty`.
    mutating func applyPenalties(to logits: UnsafeMutableBufferPointer<Float>, history: ArraySlice<Int32>) {
        let window = parameters.penaltyWindow < 0 ? history.count : min(parameters.penaltyWindow, history.count)
        guard window > 0 else { return }
        windowScratch.removeAll(keepingCapacity: true)
        windowScratch.append(contentsOf: history.suffix(window))
        windowScratch.sort()
        let repetition = parameters.repetitionPenalty
        let frequency = parameters.frequencyPenalty
        let presence = parameters.presencePenalty
        var start = 0
        while start < windowScratch.count {
            let token = windowScratch[start]
            var end = start + 1
            while end < windowScratch.count && windowScratch[end] == token { end += 1 }
            if token >= 0 && Int(token) < logits.count {
                let count = Float(end - start)
                var logit = logits[Int(token)]
                logit = logit <= 0 ? logit * repetition : logit / repetition
                // llama.cpp's rounding: the two penalties are summed before they are subtracted.
                logits[Int(token)] = logit - (count * frequency + presence)
            }
            start = end
        }
    }
}
