import Dispatch
import LocalModels

extension ForestBenchRunner {
    /// Loads a model file through `ForestLoader`, compiles it and measures it on `rows`;
    /// the result also says how long loading and compiling took.
    public func run(
        modelPath: String,
        format: ForestFormat? = nil,
        rows: ForestBenchMatrix,
        reference: ForestBenchReference? = nil
    ) throws -> ForestBenchResult {
        let (model, seconds) = try Self.load(modelPath, format: format)
        return run(model, name: modelPath, loadSeconds: seconds, rows: rows, reference: reference)
    }

    static func load(_ path: String, format: ForestFormat?) throws -> (ForestModel, Double) {
        let started = now()
        let model = try ForestLoader.load(contentsOf: path, format: format)
        return (model, seconds(since: started))
    }

    func run(
        _ model: ForestModel,
        name path: String,
        loadSeconds: Double,
        rows: ForestBenchMatrix,
        reference: ForestBenchReference?
    ) -> ForestBenchResult {
        let started = Self.now()
        let forest = CompiledForest(model)
        let compileSeconds = Self.seconds(since: started)
        var result = run(
            forest,
            rows: rows,
            name: path.split(separator: "/").last.map(String.init) ?? path,
            reference: reference
        )
        result.loadSeconds = loadSeconds
        result.compileSeconds = compileSeconds
        return result
    }

    /// The three models `scripts/bench/forest_reference.py` writes into `directory`, each on
    /// the rows its reference library was given (float32 for onnxruntime and xgboost,
    /// float64 for lightgbm), compared with `reference.json` there when it exists.
    ///
    /// `only` picks models by file name. A model that fails to load is reported as an error,
    /// since a benchmark that silently skips one would mislead.
    public func runReferenceModels(
        directory: String,
        only: Set<String>? = nil,
        referencePath: String? = nil
    ) throws -> [ForestBenchResult] {
        let reference = try? ForestBenchReference(contentsOf: referencePath ?? directory + "/reference.json")
        var results: [ForestBenchResult] = []
        for (file, format, inputs) in Self.referenceModels where only?.contains(file) ?? true {
            let (model, seconds) = try Self.load(directory + "/" + file, format: format)
            let rows = try ForestBenchMatrix.load(contentsOf: directory + "/" + inputs, featureCount: model.featureCount)
            results.append(run(model, name: file, loadSeconds: seconds, rows: rows, reference: reference))
        }
        return results
    }

    /// File, format and input rows of each model the reference script trains.
    public static let referenceModels: [(file: String, format: ForestFormat, inputs: String)] = [
        ("rf.onnx", .onnx, "X.f32"),
        ("xgb.json", .xgboost, "X.f32"),
        ("lgb.txt", .lightgbm, "X.f64"),
    ]
}
