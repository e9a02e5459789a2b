/// One entry of a GGUF file's tensor table.
public struct GGUFTensor: Sendable, Equatable {
    public var name: String
    /// Dimensions in ggml order: `shape[0]` (ne0) is the contiguous one, so a weight matrix
    /// with `shape == [cols, rows]` stores `rows` rows of `cols` elements each.
    public var shape: [Int]
    public var type: GGMLType
    /// Byte offset of the data from the start of the file (already aligned).
    public var fileOffset: Int
    public var byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }
    /// Elements in one contiguous row (ne0).
    public var rowLength: Int { shape.first ?? 1 }
    /// Number of rows: the product of every dimension after the first.
    public var rowCount: Int { shape.dropFirst().reduce(1, *) }
}
