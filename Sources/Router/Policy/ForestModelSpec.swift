/// A tabular model served in-process (`type = "forest"` in `[backends.<name>]`): where its
/// file is and how to present it. The gateway loads the file; the router only carries the
/// declaration.
public struct ForestModelSpec: Sendable, Hashable, Encodable {
    /// Absolute path, resolved against the policy file's folder.
    public var path: String
    /// `onnx`, `xgboost` or `lightgbm`; `nil` detects it from the file.
    public var format: String?
    /// Names for the input columns, in order; rows may then be objects keyed by them.
    public var featureNames: [String]?
    /// Names for the classes, in the model's class order (overrides the labels in the file).
    public var classLabels: [String]?
    /// Shown in responses and `/v2/models/{name}`; part of the cache key.
    public var version: String
    /// USD per 1,000 rows scored (cached rows cost nothing).
    public var pricePer1kRows: Double
    /// The longest a request waits for others to share a batch with, in microseconds.
    public var batchWaitMicros: Int
    /// The most rows evaluated together.
    public var maxBatchRows: Int
    /// Work estimated to take less than this many microseconds runs on the event loop that
    /// received it when the engine is idle: for a row or two of a small model the hop to the
    /// engine thread and back costs more than the evaluation. 0 sends everything to the engine.
    public var inlineMaxMicros: Int

    public init(
        path: String,
        format: String? = nil,
        featureNames: [String]? = nil,
        classLabels: [String]? = nil,
        version: String = "1",
        pricePer1kRows: Double = 0,
        batchWaitMicros: Int = 200,
        maxBatchRows: Int = 1024,
        inlineMaxMicros: Int = 10
    ) {
        self.path = path
        self.format = format
        self.featureNames = featureNames
        self.classLabels = classLabels
        self.version = version
        self.pricePer1kRows = pricePer1kRows
        self.batchWaitMicros = batchWaitMicros
        self.maxBatchRows = maxBatchRows
        self.inlineMaxMicros = inlineMaxMicros
    }

    enum CodingKeys: String, CodingKey {
        case path, format, version
        case featureNames = "feature_names"
        case classLabels = "class_labels"
        case pricePer1kRows = "price_per_1k_rows"
        case batchWaitMicros = "batch_wait_us"
        case maxBatchRows = "max_batch_rows"
        case inlineMaxMicros = "inline_max_us"
    }
}
