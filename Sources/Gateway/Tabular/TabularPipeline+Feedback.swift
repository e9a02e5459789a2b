import Cache
import NIOCore

extension TabularPipeline {
    /// `POST /v1/feedback`: true labels (or values) for earlier predictions, by id.
    ///
    /// `{"feedback": [{"id": "pred_x-0", "label": "setosa"}, ...]}`, or for all rows of one
    /// answer `{"id": "pred_x", "labels": [...]}` (`"values"` for regressors). Answers how
    /// many were scored, the ids it did not know, and each model's rolling score.
    func feedback(body: ByteBuffer) throws(GatewayError) -> [UInt8] {
        let object = try RequestBody.object(body)
        let items = try Self.feedbackItems(object)
        guard !items.isEmpty else {
            throw GatewayError.badRequest("The feedback holds no items.", code: "invalid_value", param: "feedback")
        }
        let outcome = feedback.score(items)
        for score in outcome.scores {
            if score.isClassifier {
                metrics.accuracy(model: score.model, backend: score.backend).set(to: score.metric)
            } else {
                metrics.meanAbsoluteError(model: score.model, backend: score.backend).set(to: score.metric)
            }
        }
        guard outcome.accepted > 0 || !outcome.duplicates.isEmpty else {
            if !outcome.mismatched.isEmpty {
                throw GatewayError.badRequest(
                    "Feedback for \(outcome.mismatched.first!) does not fit its model: classifiers take 'label', "
                        + "regressors 'value'.",
                    code: "invalid_value", param: "feedback")
            }
            throw GatewayError.notFound(
                "No prediction with id \(outcome.unknown.first ?? "?") is known (ids are kept for the latest "
                    + "\(feedback.capacityRequests) answers and \(feedback.capacityRows) rows).",
                code: "prediction_not_found")
        }
        return Self.renderFeedback(outcome)
    }

    private static func feedbackItems(_ object: JSONObject) throws(GatewayError) -> [FeedbackLog.Item] {
        if case .array(let entries)? = object["feedback"] {
            var items: [FeedbackLog.Item] = []
            for (index, entry) in entries.enumerated() {
                guard let id = entry["id"]?.stringValue else {
                    throw GatewayError.badRequest(
                        "feedback[\(index)] needs a string 'id' (a prediction id such as pred_...-0).",
                        code: "missing_required_parameter", param: "feedback[\(index)].id")
                }
                items.append(FeedbackLog.Item(id: id, truth: try truth(entry, at: "feedback[\(index)]")))
            }
            return items
        }
        guard let id = object["id"]?.stringValue else {
            throw GatewayError.badRequest(
                "Send {\"feedback\": [{\"id\": ..., \"label\": ...}]} or {\"id\": <prediction id>, \"labels\": [...]}.",
                code: "missing_required_parameter", param: "feedback")
        }
        let list = object["labels"] ?? object["values"]
        guard case .array(let truths)? = list else {
            if object["label"] != nil || object["value"] != nil {
                return [FeedbackLog.Item(id: id, truth: try truth(.object(object), at: "feedback"))]
            }
            throw GatewayError.badRequest(
                "'labels' (or 'values') must be an array with one true answer per row of prediction \(id).",
                code: "missing_required_parameter", param: "labels")
        }
        let isValues = object["labels"] == nil
        var items: [FeedbackLog.Item] = []
        for (row, value) in truths.enumerated() {
            let wrapped: JSONValue = isValues ? ["value": value] : ["label": value]
            items.append(FeedbackLog.Item(id: "\(id)-\(row)", truth: try truth(wrapped, at: "labels[\(row)]")))
        }
        return items
    }

    private static func truth(_ entry: JSONValue, at path: String) throws(GatewayError) -> FeedbackLog.Truth {
        if let label = entry["label"] {
            switch label {
            case .string(let text): return .label(text)
            case .number(let lexeme):
                // 1 and 1.0 name the same integer class.
                if let value = Double(lexeme), value == value.rounded(), abs(value) < 1e18 {
                    return .label(String(Int64(value)))
                }
                return .label(lexeme)
            default: break
            }
        } else if let value = entry["value"]?.doubleValue {
            return .value(value)
        }
        throw GatewayError.badRequest(
            "\(path) needs a 'label' (string or integer) or a numeric 'value'.", code: "invalid_value", param: path)
    }

    private static func renderFeedback(_ outcome: FeedbackLog.Outcome) -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: #"{"object":"feedback","accepted":\#(outcome.accepted),"duplicates":\#(outcome.duplicates.count),"unknown_ids":["#.utf8)
        for (index, id) in outcome.unknown.prefix(100).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(id, to: &out)
        }
        out.append(contentsOf: #"],"models":["#.utf8)
        for (index, score) in outcome.scores.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"model":"#.utf8)
            JSONText.appendQuoted(score.model, to: &out)
            out.append(contentsOf: #","backend":"#.utf8)
            JSONText.appendQuoted(score.backend, to: &out)
            out.append(contentsOf: (score.isClassifier ? #","accuracy":"# : #","mean_absolute_error":"#).utf8)
            JSONNumber.append(score.metric, to: &out)
            out.append(contentsOf: #","window":\#(score.scored)}"#.utf8)
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }
}
