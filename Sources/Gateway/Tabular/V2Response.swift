import LocalModels

/// Open Inference Protocol v2 answers: model metadata and infer responses.
///
/// A classifier has two outputs, `label` (BYTES for named classes, INT64 for integer ones,
/// shape `[rows]`) and `probabilities` (FP64, `[rows, classes]`); a regressor one, `value`
/// (FP64, `[rows]`, or `[rows, targets]`).
enum V2Response {
    static func outputNames(_ served: ServedForest) -> [String] {
        served.isClassifier ? ["label", "probabilities"] : ["value"]
    }

    static func labelType(_ served: ServedForest) -> String {
        if case .integer? = served.classLabels?.first { return "INT64" }
        return "BYTES"
    }

    static func inputType(_ served: ServedForest) -> String {
        served.forest.model.splitPrecision == .float32 ? "FP32" : "FP64"
    }

    /// `GET /v2/models/{name}`.
    static func metadata(_ served: ServedForest, model: String) -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: #"{"name":"#.utf8)
        JSONText.appendQuoted(model, to: &out)
        out.append(contentsOf: #","versions":["#.utf8)
        JSONText.appendQuoted(served.version, to: &out)
        out.append(contentsOf: #"],"platform":"#.utf8)
        JSONText.appendQuoted("tollgate_forest_\(served.format.rawValue)", to: &out)
        out.append(contentsOf: #","inputs":[{"name":"#.utf8)
        JSONText.appendQuoted(served.forest.model.inputName ?? "input", to: &out)
        out.append(contentsOf: #","datatype":"#.utf8)
        JSONText.appendQuoted(inputType(served), to: &out)
        out.append(contentsOf: #","shape":[-1,"#.utf8)
        out.append(contentsOf: String(served.featureCount).utf8)
        out.append(UInt8(ascii: "]"))
        if let names = served.featureNames {
            out.append(contentsOf: #","parameters":{"feature_names":["#.utf8)
            for (index, name) in names.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendQuoted(name, to: &out)
            }
            out.append(contentsOf: "]}".utf8)
        }
        out.append(contentsOf: #"}],"outputs":["#.utf8)
        if let labels = served.classLabels {
            out.append(contentsOf: #"{"name":"label","datatype":"#.utf8)
            JSONText.appendQuoted(labelType(served), to: &out)
            out.append(contentsOf: #","shape":[-1],"parameters":{"classes":["#.utf8)
            for (index, label) in labels.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                label.appendJSON(to: &out)
            }
            out.append(contentsOf: #"]}},{"name":"probabilities","datatype":"FP64","shape":[-1,"#.utf8)
            out.append(contentsOf: String(labels.count).utf8)
            out.append(contentsOf: "]}".utf8)
        } else {
            out.append(contentsOf: #"{"name":"value","datatype":"FP64","shape":"#.utf8)
            out.append(contentsOf: served.answerWidth == 1 ? "[-1]".utf8 : "[-1,\(served.answerWidth)]".utf8)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }

    /// `POST /v2/models/{name}/infer`.
    static func render(_ job: TabularPipeline.Job, table: PredictionTable, id: String?, outputs: [String]?) -> [UInt8] {
        let served = job.served
        let wanted = outputs ?? outputNames(served)
        var out: [UInt8] = []
        out.reserveCapacity(200 + table.rowCount * (12 + 20 * table.width))
        out.append(contentsOf: #"{"model_name":"#.utf8)
        JSONText.appendQuoted(job.model, to: &out)
        out.append(contentsOf: #","model_version":"#.utf8)
        JSONText.appendQuoted(served.version, to: &out)
        out.append(contentsOf: #","id":"#.utf8)
        JSONText.appendQuoted(id ?? job.predictionID, to: &out)
        let cached = table.cachedCount
        out.append(contentsOf: #","parameters":{"prediction_id":"#.utf8)
        JSONText.appendQuoted(job.predictionID, to: &out)
        out.append(contentsOf: #","cached_rows":\#(cached),"computed_rows":\#(table.rowCount - cached)},"outputs":["#.utf8)
        var first = true
        for name in wanted {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            switch name {
            case "label":
                out.append(contentsOf: #"{"name":"label","datatype":"#.utf8)
                JSONText.appendQuoted(labelType(served), to: &out)
                out.append(contentsOf: #","shape":[\#(table.rowCount)],"data":["#.utf8)
                for row in 0..<table.rowCount {
                    if row > 0 { out.append(UInt8(ascii: ",")) }
                    served.classLabels?[table.labels[row]].appendJSON(to: &out)
                }
                out.append(contentsOf: "]}".utf8)
            default:
                out.append(contentsOf: #"{"name":"#.utf8)
                JSONText.appendQuoted(name, to: &out)
                let shape = !served.isClassifier && table.width == 1
                    ? "[\(table.rowCount)]" : "[\(table.rowCount),\(table.width)]"
                out.append(contentsOf: #","datatype":"FP64","shape":\#(shape),"data":"#.utf8)
                JSONNumber.append(table.values, to: &out)
                out.append(UInt8(ascii: "}"))
            }
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }
}
