import NIOHTTP1

/// An error that leaves the gateway as an HTTP response with an OpenAI-shaped JSON body:
/// `{"error": {"message", "type", "param", "code"}}`.
public struct GatewayError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponseStatus
    public var message: String
    public var type: String
    public var code: String?
    public var param: String?
    /// Extra response headers (for example `Retry-After`).
    public var headers: [(String, String)]

    public init(
        status: HTTPResponseStatus,
        message: String,
        type: String? = nil,
        code: String? = nil,
        param: String? = nil,
        headers: [(String, String)] = []
    ) {
        self.status = status
        self.message = message
        self.type = type ?? Self.defaultType(for: status)
        self.code = code
        self.param = param
        self.headers = headers
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    /// The JSON body in OpenAI's error shape.
    public var body: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(96 + message.utf8.count)
        out.append(contentsOf: #"{"error":{"message":"#.utf8)
        JSONText.appendQuoted(message, to: &out)
        out.append(contentsOf: #","type":"#.utf8)
        JSONText.appendQuoted(type, to: &out)
        out.append(contentsOf: #","param":"#.utf8)
        if let param { JSONText.appendQuoted(param, to: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: #","code":"#.utf8)
        if let code { JSONText.appendQuoted(code, to: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: "}}".utf8)
        return out
    }

    static func defaultType(for status: HTTPResponseStatus) -> String {
        switch status.code {
        case 400, 404, 405, 408, 413, 415, 422, 431: return "invalid_request_error"
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 429: return "rate_limit_error"
        default: return status.code >= 500 ? "api_error" : "invalid_request_error"
        }
    }
}

extension GatewayError {
    static func badRequest(_ message: String, code: String? = "invalid_request", param: String? = nil) -> Self {
        GatewayError(status: .badRequest, message: message, code: code, param: param)
    }

    static func notFound(_ message: String, code: String? = "not_found") -> Self {
        GatewayError(status: .notFound, message: message, code: code)
    }

    static func modelNotFound(_ model: String) -> Self {
        GatewayError(
            status: .notFound,
            message: "The model '\(model)' does not exist or no route serves it.",
            code: "model_not_found",
            param: "model"
        )
    }

    static func methodNotAllowed(_ method: HTTPMethod, path: String, allowed: String) -> Self {
        GatewayError(
            status: .methodNotAllowed,
            message: "Method \(method.rawValue) is not allowed on \(path); use \(allowed).",
            code: "method_not_allowed",
            headers: [("allow", allowed)]
        )
    }

    static func payloadTooLarge(limit: Int) -> Self {
        GatewayError(
            status: .payloadTooLarge,
            message: "Request body exceeds the limit of \(limit) bytes (server.max_body_bytes).",
            code: "request_too_large"
        )
    }

    static let headersTooLarge = GatewayError(
        status: .requestHeaderFieldsTooLarge,
        message: "Request header fields are too large.",
        code: "headers_too_large"
    )

    static let requestTimeout = GatewayError(
        status: .requestTimeout,
        message: "The request was not received in time.",
        code: "request_timeout"
    )

    static func malformedRequest(_ detail: String) -> Self {
        GatewayError(status: .badRequest, message: "Malformed HTTP request: \(detail).", code: "malformed_request")
    }

    static func badGateway(_ message: String, code: String = "upstream_error") -> Self {
        GatewayError(status: .badGateway, message: message, code: code)
    }

    static func gatewayTimeout(_ message: String) -> Self {
        GatewayError(status: .gatewayTimeout, message: message, code: "upstream_timeout")
    }

    static func unavailable(_ message: String, code: String) -> Self {
        GatewayError(status: .serviceUnavailable, message: message, code: code)
    }
}

/// Minimal JSON string quoting for bodies the gateway writes itself.
enum JSONText {
    static func appendQuoted(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
            case 0x0A: out.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func quoted(_ string: String) -> String {
        var out = [UInt8]()
        appendQuoted(string, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
