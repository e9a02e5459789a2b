/// Loads LightGBM's text model format (`Booster.save_model("m.txt")`, format v2 to v4).
///
/// The model computes what LightGBM 4's `Booster.predict(x)` does for float64 rows: doubles
/// compared with double thresholds (`x <= threshold` goes left), each split's missing type
/// as `LightGBMDecision` translates it, leaves summed in double in tree order (tree `t` feeds
/// class `t % num_tree_per_iteration`), divided by the iteration count for random forests
/// (`average_output`), then the objective's `ConvertOutput`.
///
/// The file: a header (`tree`, then `key=value` lines), `Tree=N` blocks separated by blank
/// lines, `end of trees`, then feature importances, parameters and `pandas_categorical`,
/// which prediction does not use. Anything malformed, inconsistent or not supported (linear
/// trees, `reg_sqrt`, unknown objectives) is a `ForestLoadError` naming the line and key.
public enum LightGBMLoader {
    public static func load(bytes: [UInt8], file: String) throws(ForestLoadError) -> ForestModel {
        var reader = LightGBMReader(bytes: bytes, file: file)
        let header = try reader.header()
        let description = try LightGBMHeader(header)
        var trees: [DecisionTree] = []
        while let block = try reader.nextTree(index: trees.count) {
            trees.append(
                try tree(
                    block,
                    featureCount: description.featureCount,
                    output: trees.count % description.treesPerIteration
                )
            )
        }
        try description.check(treeCount: trees.count, endOfTrees: reader.line)

        let model = ForestModel(
            format: .lightgbm,
            featureCount: description.featureCount,
            featureNames: description.featureNames,
            outputCount: description.treesPerIteration,
            trees: trees,
            aggregation: description.averageOutput ? .average : .sum,
            splitPrecision: .float64,
            accumulation: .float64,
            head: description.objective.head(outputCount: description.treesPerIteration)
        )
        try model.validate(file: file)
        return model
    }
}

/// Walks the file's lines, numbered from 1, handing out the header and then one tree block at
/// a time.
struct LightGBMReader {
    let file: String
    private let lines: [Substring]
    /// The next line to read, 0-based.
    private var next = 0

    init(bytes: [UInt8], file: String) {
        self.file = file
        // Invalid UTF-8 becomes U+FFFD and then fails where a number or key is expected.
        // Split on the byte: as Characters, "\r\n" is one grapheme and no "\n" at all.
        let text = String(decoding: bytes, as: UTF8.self)
        lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { bytes in
            let line = Substring(bytes)
            return line.utf8.last == UInt8(ascii: "\r") ? line.dropLast() : line
        }
    }

    /// The 1-based number of the line last read.
    var line: Int { next }

    private func fail(_ part: String, _ reason: String) -> ForestLoadError {
        ForestLoadError(file: file, part: part, reason: reason)
    }

    /// The `key=value` lines between the opening `tree` line and the first `Tree=` block.
    mutating func header() throws(ForestLoadError) -> LightGBMFields {
        guard let first = lines.first, first == "tree" else {
            let shown = LightGBMFields.quote(lines.first ?? "")
            throw fail("line 1", "not a LightGBM text model: it starts with \(shown), not \"tree\"")
        }
        var fields = LightGBMFields(file: file, section: "", firstLine: 1)
        next = 1
        while next < lines.count, !lines[next].hasPrefix("Tree="), lines[next] != "end of trees" {
            if !lines[next].isEmpty { try fields.add(lines[next], line: next + 1) }
            next += 1
        }
        return fields
    }

    /// The block of tree `index`, or nil at `end of trees`. The end of the file before that
    /// line means the file was cut short.
    mutating func nextTree(index: Int) throws(ForestLoadError) -> LightGBMFields? {
        while next < lines.count, lines[next].isEmpty { next += 1 }
        guard next < lines.count else {
            throw fail(
                "line \(lines.count)",
                "the file ends after \(index) trees without an \"end of trees\" line (is it truncated?)"
            )
        }
        let opening = lines[next]
        if opening == "end of trees" {
            next += 1
            return nil
        }
        guard opening == "Tree=\(index)" else {
            throw fail(
                "line \(next + 1)",
                "expected \"Tree=\(index)\" or \"end of trees\", found \(LightGBMFields.quote(opening))"
            )
        }
        var fields = LightGBMFields(file: file, section: "Tree=\(index)", firstLine: next + 1)
        next += 1
        while next < lines.count, !lines[next].isEmpty {
            guard !lines[next].hasPrefix("Tree="), lines[next] != "end of trees" else { break }
            try fields.add(lines[next], line: next + 1)
            next += 1
        }
        return fields
    }
}
