import Foundation

/// Benchmark input rows: a row-major matrix of `rowCount` x `featureCount` values.
///
/// `scripts/bench/forest_reference.py` writes its rows as raw little-endian files with no
/// header (`X.f32`, `X.f64`), so the shape comes from the caller or from `meta.json`.
public struct ForestBenchMatrix: Sendable {
    public let rowCount: Int
    public let featureCount: Int
    public let values: [Double]

    public init(rowCount: Int, featureCount: Int, values: [Double]) {
        precondition(values.count == rowCount * featureCount, "values must be rowCount x featureCount")
        self.rowCount = rowCount
        self.featureCount = featureCount
        self.values = values
    }

    /// Rows `range` as their own matrix.
    public func rows(_ range: Range<Int>) -> [Double] {
        Array(values[(range.lowerBound * featureCount)..<(range.upperBound * featureCount)])
    }

    public enum Element: String, Sendable, Codable {
        case float32
        case float64

        var size: Int { self == .float32 ? 4 : 8 }

        /// `.f32` files hold float32 values, anything else float64.
        public init(path: String) {
            self = path.hasSuffix(".f32") ? .float32 : .float64
        }
    }

    /// Reads a raw little-endian file of `featureCount`-wide rows; the row count is the
    /// file's size divided by the row's.
    public static func load(
        contentsOf path: String,
        featureCount: Int,
        element: Element? = nil
    ) throws -> ForestBenchMatrix {
        let element = element ?? Element(path: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let rowBytes = featureCount * element.size
        guard featureCount > 0, data.count % rowBytes == 0 else {
            throw ForestBenchInputError(
                path: path,
                reason: "\(data.count) bytes is not a whole number of \(featureCount)-feature rows"
            )
        }
        let count = data.count / element.size
        let values = data.withUnsafeBytes { raw -> [Double] in
            switch element {
            case .float32:
                (0..<count).map {
                    Double(
                        Float(
                            bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))
                        )
                    )
                }
            case .float64:
                (0..<count).map {
                    Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))
                }
            }
        }
        return ForestBenchMatrix(rowCount: count / featureCount, featureCount: featureCount, values: values)
    }

    /// `rowCount` rows of standard normal values from a fixed seed, for synthetic models.
    public static func gaussian(rowCount: Int, featureCount: Int, seed: UInt64 = 42) -> ForestBenchMatrix {
        var rng = ForestBenchRandom(state: seed)
        let values = (0..<(rowCount * featureCount)).map { _ in rng.nextGaussian() }
        return ForestBenchMatrix(rowCount: rowCount, featureCount: featureCount, values: values)
    }
}

public struct ForestBenchInputError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "\(path): \(reason)" }
}

/// A small fixed-seed generator so synthetic benchmarks are the same on every run.
struct ForestBenchRandom: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func nextGaussian() -> Double {
        let u = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let v = Double.random(in: 0..<1, using: &self)
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}
