import Cache

/// Predictions are deterministic, so every row is cached on its own, keyed by the exact bits
/// of its features: a batch with some rows seen before computes only the new ones.
///
/// A row entry is a small JSON document, `{"label_index":0,"values":[...]}`, readable in
/// `GET /admin/cache/entries/{key}`; values are written in Swift's shortest round-trip form,
/// so a cached row reads back bit for bit.
enum RowCache {
    static let contentType = "application/vnd.tollgate.row+json"

    /// SHA-256 over the scope, the route, the model's identity (its file's digest) and the
    /// row's features as IEEE-754 bits. `-0.0` and `0.0`, or two NaN payloads, are
    /// different keys; both compute the same answer, so that only costs a miss.
    static func key(scope: String, route: String, model: CacheKey, row: ArraySlice<Double>) -> CacheKey {
        var hasher = SHA256Hasher()
        hasher.updateField("tollgate-row-v1")
        hasher.updateField(scope)
        hasher.updateField(route)
        model.bytes.withUnsafeBytes { hasher.update($0) }
        row.withUnsafeBytes { hasher.updateField($0) }
        return hasher.finalize()
    }

    static func encode(label: Int, values: some Collection<Double>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32 + values.count * 20)
        out.append(contentsOf: #"{"label_index":"#.utf8)
        out.append(contentsOf: String(label).utf8)
        out.append(contentsOf: #","values":["#.utf8)
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            // NaN and infinities cannot be JSON numbers; quoted, they still read back.
            if value.isFinite {
                out.append(contentsOf: value.description.utf8)
            } else {
                JSONText.appendQuoted(value.description, to: &out)
            }
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }

    /// The label index and values of a stored row; nil if the entry is not one of ours or
    /// does not have `width` values (then it is treated as a miss).
    static func decode(_ body: [UInt8], width: Int) -> (label: Int, values: [Double])? {
        guard case .object(let object)? = try? JSONParser.parse(body),
            let label = object["label_index"]?.intValue,
            case .array(let items)? = object["values"], items.count == width
        else { return nil }
        var values: [Double] = []
        values.reserveCapacity(width)
        for item in items {
            switch item {
            case .number(let lexeme):
                guard let value = Double(lexeme) else { return nil }
                values.append(value)
            case .string(let text):
                guard let value = Double(text) else { return nil }
                values.append(value)
            default:
                return nil
            }
        }
        return (label, values)
    }
}
