/// Looks tensors up by name and checks each against the shape and types the decoder needs, so
/// that a bad file fails at load with the tensor's name instead of reading out of bounds later.
struct TensorBinder {
    let file: GGUFFile

    func matrix(_ name: String, columns: Int, rows: Int) throws -> WeightMatrix {
        guard let matrix = try optionalMatrix(name, columns: columns, rows: rows) else {
            throw missing(name, [columns, rows])
        }
        return matrix
    }

    /// The matrix, or nil when the file has no tensor of that name.
    func optionalMatrix(_ name: String, columns: Int, rows: Int) throws -> WeightMatrix? {
        guard let tensor = file.tensor(named: name) else { return nil }
        try check(tensor, shape: [columns, rows])
        guard MatrixKernels.isSupported(tensor.type) else {
            throw GGUFLoadError(
                file: file.path,
                part: "tensor \(name)",
                reason: "type \(tensor.type) is not supported by the matrix kernels"
            )
        }
        let data = file.data(of: tensor)
        guard let base = data.baseAddress else { throw missing(name, [columns, rows]) }
        return WeightMatrix(type: tensor.type, rows: rows, columns: columns, base: base)
    }

    func vector(_ name: String, length: Int) throws -> [Float] {
        guard let vector = try optionalVector(name, length: length) else { throw missing(name, [length]) }
        return vector
    }

    /// The vector converted to `Float`, or nil when the file has no tensor of that name.
    func optionalVector(_ name: String, length: Int) throws -> [Float]? {
        guard let tensor = file.tensor(named: name) else { return nil }
        try check(tensor, shape: [length])
        let data = file.data(of: tensor)
        switch tensor.type {
        case .f32:
            return (0..<length).map { data.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
        case let type where MatrixKernels.isSupported(type):
            guard let base = data.baseAddress else { return [Float](repeating: 0, count: length) }
            return [Float](unsafeUninitializedCapacity: length) { buffer, count in
                MatrixKernels.dequantize(type, from: base, to: buffer.baseAddress!, count: length)
                count = length
            }
        default:
            throw GGUFLoadError(
                file: file.path,
                part: "tensor \(name)",
                reason: "type \(tensor.type) is not supported for a vector"
            )
        }
    }

    /// Shapes compare without trailing 1s, since writers differ on `[n]` against `[n, 1]`.
    private func check(_ tensor: GGUFTensor, shape expected: [Int]) throws {
        func trimmed(_ s: [Int]) -> [Int] {
            var s = s
            while s.count > 1, s.last == 1 { s.removeLast() }
            return s
        }
        guard trimmed(tensor.shape) == trimmed(expected) else {
            throw GGUFLoadError(
                file: file.path,
                part: "tensor \(tensor.name)",
                reason: "shape \(tensor.shape), expected \(expected)"
            )
        }
    }

    private func missing(_ name: String, _ shape: [Int]) -> GGUFLoadError {
        GGUFLoadError(file: file.path, part: "tensor \(name)", reason: "missing; expected shape \(shape)")
    }
}
