import LocalModels
import Testing

struct StopSequenceMatcherTests {
    /// Feeds `chunks` one by one; returns everything emitted (including `finish()` when no stop was hit)
    /// and whether a stop ended the stream.
    private func run(_ stops: [String], _ chunks: [String]) -> (text: String, stopped: Bool, emits: [String]) {
        var matcher = StopSequenceMatcher(stops: stops)
        var emits: [String] = []
        var stopped = false
        for chunk in chunks {
            let (emit, hit) = matcher.append(chunk)
            emits.append(emit)
            if hit {
                stopped = true
                break
            }
        }
        if !stopped { emits.append(matcher.finish()) }
        return (emits.joined(), stopped, emits)
    }

    @Test func textWithoutStopsPassesThroughAtOnce() {
        let result = run([], ["Hello", ", ", "world"])
        #expect(result.text == "Hello, world" && !result.stopped)
        #expect(result.emits == ["Hello", ", ", "world", ""])
    }

    @Test func aStopInsideOneChunkCutsTheRest() {
        let result = run(["END"], ["one two END three", " four"])
        #expect(result.text == "one two " && result.stopped)
    }

    @Test func aStopAcrossChunkBoundariesIsHeldBackAndCut() {
        let result = run(["</answer>"], ["The answer is 42.<", "/ans", "wer>", " ignored"])
        #expect(result.text == "The answer is 42." && result.stopped)
        // The partial "<" and "</ans" were held back, never emitted.
        #expect(result.emits == ["The answer is 42.", "", ""])
    }

    @Test func aHeldBackPrefixIsReleasedWhenItDoesNotComplete() {
        let result = run(["STOP"], ["go ST", "OCK and ST", "ay"])
        #expect(result.text == "go STOCK and STay" && !result.stopped)
        #expect(result.emits == ["go ", "STOCK and ", "STay", ""])
    }

    @Test func theTailIsReleasedByFinish() {
        var matcher = StopSequenceMatcher(stops: ["\n\n"])
        #expect(matcher.append("line\n") == ("line", false))
        #expect(matcher.finish() == "\n")
        #expect(matcher.finish() == "")
    }

    @Test func aStopAtTheStartEmitsNothing() {
        #expect(run(["User:"], ["User: hi"]) == ("", true, [""]))
        #expect(run(["User:"], ["Us", "er:", "x"]).text == "")
    }

    @Test func theEarliestOfSeveralStopsWins() {
        #expect(run(["world", "lo, w"], ["Hello, world"]).text == "Hel")
        #expect(run(["C", "B"], ["aaB", "C"]).text == "aa")
        // A longer stop that would start earlier but never completes does not block a shorter one.
        #expect(run(["xyz!", "yz"], ["x", "y", "z", "?"]).text == "x")
    }

    @Test func overlappingStopsAndSelfOverlappingPrefixes() {
        // "aab" inside "aaab": the held-back "aa" must slide by one, not be dropped.
        #expect(run(["aab"], ["a", "a", "a", "b"]).text == "a")
        #expect(run(["abc", "bcd"], ["xab", "cd"]).text == "x")
        #expect(run(["abab"], ["aba", "bab"]).text == "")
    }

    @Test func afterAStopEverythingIsDropped() {
        var matcher = StopSequenceMatcher(stops: ["#"])
        #expect(matcher.append("a#b") == ("a", true))
        #expect(matcher.append("more") == ("", true))
        #expect(matcher.hasStopped)
        #expect(matcher.finish() == "")
    }

    @Test func unicodeStopsAndTextSplitOnlyAtScalarBoundaries() {
        #expect(run(["東京"], ["Grüße aus 東", "京 und mehr"]).text == "Grüße aus ")
        #expect(run(["🙂"], ["smile ", "🙂", " later"]).text == "smile ")
        // A stop sharing a first byte with the text ("é" and "è" both start 0xC3) holds back nothing partial.
        let result = run(["è"], ["caf", "é", " crème"])
        #expect(result.text == "café cr" && result.stopped)
        #expect(result.emits == ["caf", "é", " cr"])
        // Matching is on bytes: a stop "e" ends a decomposed "e\u{301}" before the accent.
        #expect(run(["e"], ["cafe\u{301}"]).text == "caf")
    }

    @Test func emptyStopsAreIgnored() {
        #expect(run(["", "z"], ["abc"]) == ("abc", false, ["abc", ""]))
    }
}
