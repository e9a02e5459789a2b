/// The Open Inference Protocol v2 paths the data plane serves (health has its own cases).
enum V2Path: Equatable {
    enum Action: Equatable {
        case metadata
        case ready
        case infer
    }

    /// `GET /v2`: server metadata.
    case server
    /// `/v2/models/{name}[/versions/{version}][/ready | /infer]`.
    case model(name: String, version: String?, action: Action)

    init?(_ path: String) {
        if path == "/v2" || path == "/v2/" {
            self = .server
            return
        }
        guard path.hasPrefix("/v2/models/") else { return nil }
        var parts = path.dropFirst("/v2/models/".count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, !first.isEmpty, let name = first.removingPercentEncoding else { return nil }
        parts.removeFirst()
        var version: String?
        if parts.first == "versions" {
            guard parts.count >= 2, !parts[1].isEmpty else { return nil }
            version = parts[1].removingPercentEncoding
            parts.removeFirst(2)
        }
        switch parts {
        case []: self = .model(name: name, version: version, action: .metadata)
        case ["ready"]: self = .model(name: name, version: version, action: .ready)
        case ["infer"]: self = .model(name: name, version: version, action: .infer)
        default: return nil
        }
    }
}

extension String {
    /// `%XX` escapes decoded as UTF-8; nil when an escape is malformed or the bytes are not
    /// UTF-8. (Foundation's version is not on every platform's core library.)
    fileprivate var removingPercentEncoding: String? {
        guard utf8.contains(UInt8(ascii: "%")) else { return self }
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
