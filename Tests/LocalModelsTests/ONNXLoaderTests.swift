import Foundation
import Testing
import TollgateJSON

@testable import LocalModels

/// The ONNX-ML loader against onnxruntime's answers (fixtures written by
/// scripts/forest_fixtures.py), the gateway's default model, and files that must fail.
@Suite struct ONNXLoaderTests {
    static let fixtures = ForestFixture.all(.onnx)

    static func load(_ fixture: ForestFixture) throws -> ForestModel {
        let bytes = try #require(FileManager.default.contents(atPath: fixture.modelPath))
        return try ONNXForestLoader.load(bytes: Array(bytes), file: fixture.modelPath)
    }

    @Test func fixturesArePresent() {
        #expect(Self.fixtures.count >= 12, "expected the committed onnx_* fixtures, found \(Self.fixtures.map(\.name))")
    }

    @Test(arguments: fixtures)
    func matchesOnnxruntimeOnEveryPath(_ fixture: ForestFixture) throws {
        let model = try Self.load(fixture)
        #expect(model.featureCount == fixture.featureCount)
        #expect(model.inputName == "input")
        if fixture.isClassifier, case .classification(let labels, _) = model.head {
            #expect(labels.matches(fixture.classLabels), "labels \(labels), case.json \(fixture.classLabels)")
        }
        let problems = fixture.mismatchesOnEveryPath(model)
        #expect(problems.isEmpty, "\(fixture.name): \(problems.joined(separator: "\n"))")
    }
}

extension ONNXLoaderTests {
    /// The repository root, for the files outside the test bundle (models/).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// models/iris-forest.onnx, the gateway's default model, answers as models/iris-forest.json
    /// records, and is the same file as the onnx_default_iris_forest fixture checked above.
    @Test func defaultModelMatchesItsRecordedAnswers() throws {
        let path = Self.repository.appendingPathComponent("models/iris-forest.onnx").path
        let bytes = Array(try #require(FileManager.default.contents(atPath: path)))
        let fixture = try #require(Self.fixtures.first { $0.name == "onnx_default_iris_forest" })
        #expect(bytes == Array(try #require(FileManager.default.contents(atPath: fixture.modelPath))))

        let metaPath = Self.repository.appendingPathComponent("models/iris-forest.json").path
        let meta = try JSONParser.parse(Array(try #require(FileManager.default.contents(atPath: metaPath))))
        guard case .object(let object) = meta, case .array(let examples)? = object["examples"] else {
            Issue.record("models/iris-forest.json has no examples")
            return
        }
        let model = try ONNXForestLoader.load(bytes: bytes, file: path)
        #expect(model.inputName == object["input_name"]?.stringValue)
        #expect(model.featureCount == 4)
        guard case .classification(let labels, .perClass(.identity)) = model.head else {
            Issue.record("head \(model.head)")
            return
        }
        #expect(labels == .integers([0, 1, 2]))
        let compiled = CompiledForest(model)
        #expect(examples.count == 2)
        for example in examples {
            guard case .object(let fields) = example, case .array(let input)? = fields["input"],
                case .array(let expected)? = fields["probabilities"], let label = fields["label_index"]?.intValue
            else {
                Issue.record("malformed example \(example)")
                continue
            }
            let row = input.compactMap(\.doubleValue)
            for prediction in [ReferenceEvaluator(model: model).predict(row: row), compiled.predict(row: row)] {
                guard case .classification(let index, let probabilities) = prediction else {
                    Issue.record("not a classification: \(prediction)")
                    continue
                }
                #expect(index == label)
                #expect(zip(probabilities, expected.compactMap(\.doubleValue)).allSatisfy { abs($0 - $1) <= 1e-6 })
            }
        }
    }

    /// Every prefix of every fixture, and copies with bytes changed, either fail with an error
    /// that names the file or load a model that validates and evaluates; none may trap or hang.
    @Test(arguments: fixtures)
    func truncatedAndCorruptedFilesFailCleanly(_ fixture: ForestFixture) throws {
        let bytes = Array(try #require(FileManager.default.contents(atPath: fixture.modelPath)))
        let file = "corrupt/\(fixture.name).onnx"
        let step = max(1, bytes.count / 160)
        let cuts = Array(0..<min(bytes.count, 64)) + Array(stride(from: 64, to: bytes.count, by: step)) + [bytes.count - 1]
        for cut in Set(cuts).sorted() {
            do throws(ForestLoadError) {
                _ = try ONNXForestLoader.load(bytes: Array(bytes[..<cut]), file: file)
                Issue.record("a \(cut)-byte prefix of \(bytes.count) loaded")
            } catch {
                #expect(error.file == file && error.description.hasPrefix(file))
            }
        }
        var random = ONNXCorruptionRandom(state: UInt64(bytes.count))
        var loaded = 0
        for _ in 0..<160 {
            var copy = bytes
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let position = Int.random(in: 0..<copy.count, using: &random)
                copy[position] = Bool.random(using: &random)
                    ? copy[position] ^ (1 << UInt8.random(in: 0..<8, using: &random)) : UInt8.random(in: 0...255, using: &random)
            }
            do throws(ForestLoadError) {
                let model = try ONNXForestLoader.load(bytes: copy, file: file)
                loaded += 1
                // A corrupt shape can declare millions of features; the loader caps them, the test skips them.
                guard model.featureCount <= 100_000 else { continue }
                for value in [0.0, .nan, 1e30] {
                    let row = [Double](repeating: value, count: model.featureCount)
                    _ = ReferenceEvaluator(model: model).predict(row: row)
                    _ = CompiledForest(model).predict(row: row)
                }
            } catch {
                #expect(error.file == file && error.description.hasPrefix(file))
            }
        }
        // Most corrupt copies still decode (a changed threshold is a valid model); some must not.
        #expect(loaded < 160)
    }
}

/// A seeded generator, so a failing corruption can be replayed.
struct ONNXCorruptionRandom: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension ClassLabels {
    /// Whether these are the labels case.json lists.
    func matches(_ json: [JSONValue]) -> Bool {
        switch self {
        case .integers(let labels): labels.map(Int.init) == json.map(\.intValue)
        case .strings(let labels): labels == json.map(\.stringValue)
        }
    }
}
