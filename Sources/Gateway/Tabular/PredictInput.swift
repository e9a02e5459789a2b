import Cache

/// Rows to score, row-major, `featureCount` values each. A missing value is NaN.
struct PredictRows: Sendable {
    var values: [Double]
    var count: Int
}

/// Reads `/v1/predict` inputs: `"inputs": [[x, ...], ...]`, or rows as objects keyed by
/// feature name. Every error says what the model expected.
enum PredictInput {
    static func rows(_ inputs: JSONValue?, forest: ServedForest, model: String) throws(GatewayError) -> PredictRows {
        guard let inputs else {
            throw GatewayError.badRequest(
                "Missing required parameter: 'inputs' (an array of rows; \(expectation(forest, model))).",
                code: "missing_required_parameter", param: "inputs")
        }
        guard case .array(let rows) = inputs else {
            throw GatewayError.badRequest(
                "'inputs' must be an array of rows; \(expectation(forest, model)).", code: "invalid_type", param: "inputs")
        }
        guard !rows.isEmpty else {
            throw GatewayError.badRequest("'inputs' holds no rows.", code: "invalid_value", param: "inputs")
        }
        let width = forest.featureCount
        var values = [Double]()
        values.reserveCapacity(rows.count * width)
        for (index, row) in rows.enumerated() {
            switch row {
            case .array(let cells):
                guard cells.count == width else {
                    throw GatewayError.badRequest(
                        "inputs[\(index)] has \(cells.count) values; \(expectation(forest, model)).",
                        code: "invalid_value", param: "inputs[\(index)]")
                }
                for (column, cell) in cells.enumerated() {
                    values.append(try number(cell, at: "inputs[\(index)][\(column)]"))
                }
            case .object(let fields):
                try appendNamedRow(fields, index: index, forest: forest, model: model, to: &values)
            case .number:
                throw GatewayError.badRequest(
                    "inputs[\(index)] is a number, expected a row: wrap each row in its own array, as in [[...], [...]]; "
                        + "\(expectation(forest, model)).",
                    code: "invalid_type", param: "inputs[\(index)]")
            default:
                throw GatewayError.badRequest(
                    "inputs[\(index)] must be an array of \(width) numbers or an object keyed by feature name.",
                    code: "invalid_type", param: "inputs[\(index)]")
            }
        }
        return PredictRows(values: values, count: rows.count)
    }

    private static func appendNamedRow(
        _ fields: JSONObject, index: Int, forest: ServedForest, model: String, to values: inout [Double]
    ) throws(GatewayError) {
        guard let names = forest.featureNames else {
            throw GatewayError.badRequest(
                "inputs[\(index)] is an object, but model '\(model)' has no feature names; send rows as arrays of "
                    + "\(forest.featureCount) numbers (or declare feature_names in its policy).",
                code: "invalid_type", param: "inputs[\(index)]")
        }
        let start = values.count
        values.append(contentsOf: repeatElement(Double.nan, count: names.count))
        var seen = [Bool](repeating: false, count: names.count)
        for (name, value) in fields {
            guard let column = forest.featureIndex[name] else {
                throw GatewayError.badRequest(
                    "inputs[\(index)] has an unknown feature '\(name)'; model '\(model)' takes: \(names.joined(separator: ", ")).",
                    code: "invalid_value", param: "inputs[\(index)].\(name)")
            }
            values[start + column] = try number(value, at: "inputs[\(index)].\(name)")
            seen[column] = true
        }
        let missing = names.indices.filter { !seen[$0] }.map { names[$0] }
        guard missing.isEmpty else {
            throw GatewayError.badRequest(
                "inputs[\(index)] lacks \(missing.count == 1 ? "feature" : "features") \(missing.joined(separator: ", ")) "
                    + "(send null for a missing value).",
                code: "invalid_value", param: "inputs[\(index)]")
        }
    }

    /// A feature value: a JSON number, or null for a missing one.
    static func number(_ value: JSONValue, at path: @autoclosure () -> String) throws(GatewayError) -> Double {
        // The path is only built for an error: this runs for every cell of every row.
        if case .number(let lexeme) = value, let number = Double(lexeme) { return number }
        if case .null = value { return .nan }
        let path = path()
        switch value {
        case .number:
            throw GatewayError.badRequest("\(path) is not a representable number.", code: "invalid_value", param: path)
        case .string(let text):
            throw GatewayError.badRequest(
                "\(path) is the string \(JSONText.quoted(String(text.prefix(40)))); features must be numbers (null for missing).",
                code: "invalid_type", param: path)
        default:
            throw GatewayError.badRequest(
                "\(path) must be a number (null for a missing value).", code: "invalid_type", param: path)
        }
    }

    /// "model 'iris' takes 4 features (sepal_length, ...)".
    static func expectation(_ forest: ServedForest, _ model: String) -> String {
        let count = forest.featureCount
        var text = "model '\(model)' takes \(count) feature\(count == 1 ? "" : "s") per row"
        if let names = forest.featureNames {
            let shown = names.prefix(12).joined(separator: ", ")
            text += " (\(shown)\(names.count > 12 ? ", ..." : ""))"
        }
        return text
    }
}
