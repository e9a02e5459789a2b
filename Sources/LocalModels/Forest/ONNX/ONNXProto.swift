/// The parts of ONNX's protobuf messages the forest loader reads, decoded by hand from the
/// wire format (field numbers from `onnx/onnx.proto3`). Everything else is skipped.
enum ONNXProto {
    struct Model {
        var irVersion: Int64 = 0
        var opsetImports: [OpsetImport] = []
        var graph: Graph?
    }

    struct OpsetImport {
        var domain: String = ""
        var version: Int64 = 0
    }

    struct Graph {
        var name: String = ""
        var nodes: [Node] = []
        var inputs: [ValueInfo] = []
        var outputs: [ValueInfo] = []
    }

    struct Node {
        var inputs: [String] = []
        var outputs: [String] = []
        var name: String = ""
        var opType: String = ""
        var domain: String = ""
        var attributes: [Attribute] = []
    }

    struct Attribute {
        var name: String = ""
        /// `AttributeProto.AttributeType`; 0 (UNDEFINED) in files older than IR version 0.0.2.
        var type: Int32 = 0
        var f: Float?
        var i: Int64?
        var s: [UInt8]?
        var t: Tensor?
        var floats: [Float] = []
        var ints: [Int64] = []
        var strings: [[UInt8]] = []
        /// Field numbers of payloads this decoder does not keep (graphs, sparse tensors...).
        var otherPayloads: [Int] = []
    }

    struct Tensor {
        var dims: [Int64] = []
        var dataType: Int32 = 0
        var floatData: [Float] = []
        var int32Data: [Int32] = []
        var int64Data: [Int64] = []
        var doubleData: [Double] = []
        var uint64Data: [Int64] = []
        var rawData: [UInt8]?
        /// `TensorProto.DataLocation`: 1 is EXTERNAL (data in another file).
        var dataLocation: Int32 = 0
    }

    struct ValueInfo {
        var name: String = ""
        /// `TensorProto.DataType` of a tensor input; nil for other types or none declared.
        var elementType: Int32?
        /// One entry per dimension, nil where it is symbolic or unknown; nil when no shape.
        var dims: [Int64?]?
    }

    /// `TensorProto.DataType` values the loader handles.
    enum DataType {
        static let float: Int32 = 1
        static let uint8: Int32 = 2
        static let int8: Int32 = 3
        static let uint16: Int32 = 4
        static let int16: Int32 = 5
        static let int32: Int32 = 6
        static let int64: Int32 = 7
        static let double: Int32 = 11
        static let uint32: Int32 = 12
        static let uint64: Int32 = 13

        static func name(_ type: Int32) -> String {
            let names: [Int32: String] = [
                0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32",
                7: "INT64", 8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64",
                14: "COMPLEX64", 15: "COMPLEX128", 16: "BFLOAT16",
            ]
            return names[type] ?? "type \(type)"
        }
    }

    /// `AttributeProto.AttributeType` values.
    enum AttributeType {
        static let float: Int32 = 1
        static let int: Int32 = 2
        static let string: Int32 = 3
        static let tensor: Int32 = 4
        static let floats: Int32 = 6
        static let ints: Int32 = 7
        static let strings: Int32 = 8

        static func name(_ type: Int32) -> String {
            let names: [Int32: String] = [
                0: "UNDEFINED", 1: "FLOAT", 2: "INT", 3: "STRING", 4: "TENSOR", 5: "GRAPH", 6: "FLOATS",
                7: "INTS", 8: "STRINGS", 9: "TENSORS", 10: "GRAPHS", 11: "SPARSE_TENSOR", 12: "SPARSE_TENSORS",
                13: "TYPE_PROTO", 14: "TYPE_PROTOS",
            ]
            return names[type] ?? "type \(type)"
        }
    }
}
