/// A weight matrix as stored in the file: `rows` rows (output features, ggml ne1) of `columns` elements (ne0).
///
/// Only a view: `base` usually points into a memory-mapped GGUF file, which must outlive the matrix.
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    public let base: UnsafeRawPointer

    public init(type: GGMLType, rows: Int, columns: Int, base: UnsafeRawPointer) {
        precondition(rows >= 0 && columns >= 0, "WeightMatrix: negative shape \(rows) x \(columns)")
        precondition(columns % type.blockElements == 0, "WeightMatrix: \(columns) columns is not whole \(type) blocks")
        self.type = type
        self.rows = rows
        self.columns = columns
        self.base = base
    }

    /// Bytes of one row (a whole number of blocks).
    public var rowBytes: Int { columns / type.blockElements * type.blockBytes }
}
