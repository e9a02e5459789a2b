import Testing

@testable import Gateway

@Suite struct FeedbackLogTests {
    let labels: [ClassLabel] = [.name("no"), .name("yes")]

    @Test func scoresClassifierRowsAndKeepsARollingAccuracy() {
        let log = FeedbackLog(capacityRows: 100, window: 4)
        log.remember("pred_a", .init(model: "m", backend: "b", classLabels: labels, predictions: [0, 1, 1]))
        let first = log.score([
            .init(id: "pred_a-0", truth: .label("no")),
            .init(id: "pred_a-1", truth: .label("no")),
            .init(id: "pred_a-9", truth: .label("no")),
            .init(id: "pred_zz-0", truth: .label("no")),
        ])
        #expect(first.accepted == 2)
        #expect(first.unknown == ["pred_a-9", "pred_zz-0"])
        #expect(first.scores == [.init(model: "m", backend: "b", isClassifier: true, metric: 0.5, scored: 2)])

        let again = log.score([.init(id: "pred_a-0", truth: .label("no"))])
        #expect(again.accepted == 0)
        #expect(again.duplicates == ["pred_a-0"])

        // The window keeps the latest 4 samples: 1, 0, then 1, 1, 1 -> 0, 1, 1, 1.
        log.remember("pred_b", .init(model: "m", backend: "b", classLabels: labels, predictions: [1, 1, 1]))
        let later = log.score((0..<3).map { .init(id: "pred_b-\($0)", truth: .label("yes")) })
        #expect(later.scores.first?.metric == 0.75)
        #expect(later.scores.first?.scored == 4)
    }

    @Test func regressorsGetAMeanAbsoluteErrorAndLabelsDoNotFit() {
        let log = FeedbackLog()
        log.remember("pred_r", .init(model: "r", backend: "b", classLabels: nil, predictions: [1.5, 2]))
        let outcome = log.score([
            .init(id: "pred_r-0", truth: .value(1)),
            .init(id: "pred_r-1", truth: .label("x")),
        ])
        #expect(outcome.accepted == 1)
        #expect(outcome.mismatched == ["pred_r-1"])
        #expect(outcome.scores.first?.metric == 0.5)
        #expect(outcome.scores.first?.isClassifier == false)
    }

    @Test func oldestPredictionsAreForgottenPastTheCapacity() {
        let log = FeedbackLog(capacityRows: 4, window: 10)
        log.remember("pred_1", .init(model: "m", backend: "b", classLabels: labels, predictions: [0, 0]))
        log.remember("pred_2", .init(model: "m", backend: "b", classLabels: labels, predictions: [0, 0]))
        log.remember("pred_3", .init(model: "m", backend: "b", classLabels: labels, predictions: [0]))
        let outcome = log.score([.init(id: "pred_1-0", truth: .label("no")), .init(id: "pred_2-1", truth: .label("no"))])
        #expect(outcome.unknown == ["pred_1-0"])
        #expect(outcome.accepted == 1)
    }

    @Test func idsSplitAtTheLastDash() {
        #expect(FeedbackLog.split("pred_ab-cd-12")! == ("pred_ab-cd", 12))
        #expect(FeedbackLog.split("pred_ab") == nil)
        #expect(FeedbackLog.split("pred_ab-x") == nil)
    }
}
