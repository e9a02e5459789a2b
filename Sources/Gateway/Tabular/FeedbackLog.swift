import NIOConcurrencyHelpers
import NIOCore

/// Remembers what recent predictions said, so that true labels sent later through
/// `POST /v1/feedback` can be scored, and keeps a rolling accuracy (classifiers) or mean
/// absolute error (regressors) per model over the latest `window` scored rows.
///
/// Bounded by rows and by requests: the oldest requests are forgotten first once either
/// bound is passed (a request costs about 300 bytes here beyond its 8 bytes a row).
final class FeedbackLog: Sendable {
    /// One request's predictions.
    struct Record: Sendable {
        var model: String
        var backend: String
        /// The class labels in force when it was answered; nil for a regressor.
        var classLabels: [ClassLabel]?
        /// Per row: the predicted class index, or the (first) predicted value.
        var predictions: [Double]
    }

    enum Truth: Sendable {
        case label(String)
        case value(Double)
    }

    struct Item: Sendable {
        var id: String
        var truth: Truth
    }

    struct Score: Sendable, Equatable {
        var model: String
        var backend: String
        var isClassifier: Bool
        /// Accuracy or mean absolute error over the window.
        var metric: Double
        var scored: Int
    }

    struct Outcome: Sendable {
        var accepted: Int
        var unknown: [String]
        /// Items whose truth did not fit the model (a label for a regressor, or the reverse).
        var mismatched: [String]
        /// Items for rows that were scored before.
        var duplicates: [String]
        var scores: [Score]
    }

    private struct Window {
        var samples: [Double] = []
        var next = 0
        var sum = 0.0

        mutating func add(_ sample: Double, capacity: Int) {
            if samples.count < capacity {
                samples.append(sample)
            } else {
                sum -= samples[next]
                samples[next] = sample
                next = (next + 1) % capacity
            }
            sum += sample
        }

        var mean: Double { samples.isEmpty ? 0 : sum / Double(samples.count) }
    }

    private struct State {
        var records: [String: Record] = [:]
        /// Per request, the rows already scored: feedback sent twice counts once.
        var scored: [String: [Bool]] = [:]
        var order = CircularBuffer<String>()
        var rows = 0
        var windows: [String: Window] = [:]
    }

    let capacityRows: Int
    let capacityRequests: Int
    let window: Int
    private let state = NIOLockedValueBox(State())

    init(capacityRows: Int = 1_000_000, capacityRequests: Int = 100_000, window: Int = 1000) {
        self.capacityRows = capacityRows
        self.capacityRequests = capacityRequests
        self.window = window
    }

    func remember(_ predictionID: String, _ record: Record) {
        state.withLockedValue { state in
            if let replaced = state.records.updateValue(record, forKey: predictionID) {
                state.rows -= replaced.predictions.count
            } else {
                state.order.append(predictionID)
            }
            state.scored[predictionID] = [Bool](repeating: false, count: record.predictions.count)
            state.rows += record.predictions.count
            while state.rows > capacityRows || state.order.count > capacityRequests, let oldest = state.order.popFirst() {
                state.rows -= state.records.removeValue(forKey: oldest)?.predictions.count ?? 0
                state.scored[oldest] = nil
            }
        }
    }

    /// Scores each item against the prediction it names (`<prediction id>-<row>`).
    func score(_ items: [Item]) -> Outcome {
        var outcome = Outcome(accepted: 0, unknown: [], mismatched: [], duplicates: [], scores: [])
        var touched: [String: (String, String, Bool)] = [:]
        state.withLockedValue { state in
            for item in items {
                guard let (predictionID, row) = Self.split(item.id), let record = state.records[predictionID],
                    row < record.predictions.count
                else {
                    outcome.unknown.append(item.id)
                    continue
                }
                guard state.scored[predictionID]?[row] == false else {
                    outcome.duplicates.append(item.id)
                    continue
                }
                let sample: Double
                switch (item.truth, record.classLabels) {
                case (.label(let truth), let labels?):
                    sample = labels[Int(record.predictions[row])].text == truth ? 1 : 0
                case (.value(let truth), nil):
                    sample = abs(record.predictions[row] - truth)
                default:
                    outcome.mismatched.append(item.id)
                    continue
                }
                state.scored[predictionID]?[row] = true
                let key = record.model + "\u{1f}" + record.backend
                state.windows[key, default: Window()].add(sample, capacity: window)
                touched[key] = (record.model, record.backend, record.classLabels != nil)
                outcome.accepted += 1
            }
            for (key, (model, backend, isClassifier)) in touched.sorted(by: { $0.key < $1.key }) {
                let window = state.windows[key] ?? Window()
                outcome.scores.append(
                    Score(model: model, backend: backend, isClassifier: isClassifier, metric: window.mean,
                          scored: window.samples.count))
            }
        }
        return outcome
    }

    /// "pred_ab12-3" → ("pred_ab12", 3).
    static func split(_ id: String) -> (String, Int)? {
        guard let dash = id.lastIndex(of: "-"), let row = Int(id[id.index(after: dash)...]), row >= 0 else { return nil }
        return (String(id[..<dash]), row)
    }
}
