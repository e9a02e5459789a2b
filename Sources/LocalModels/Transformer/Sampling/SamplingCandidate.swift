/// One token still in the running while the sampler narrows the vocabulary down.
struct SamplingCandidate: Sendable, Hashable {
    var id: Int32
    var logit: Float

    /// The order llama.cpp's samplers see after sorting: higher logit first, lower id first on ties
    /// (so every truncation and the draw are deterministic). NaN never ranks above anything.
    @inline(__always)
    func ranksAbove(_ other: SamplingCandidate) -> Bool {
        logit > other.logit || (logit == other.logit && id < other.id)
    }
}
