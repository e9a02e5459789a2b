import Cache
import NIOCore

/// The JSON object every inference endpoint takes as its body.
enum RequestBody {
    /// Parses `body`; a client error names what is wrong with it.
    static func object(_ body: ByteBuffer) throws(GatewayError) -> JSONObject {
        let parsed: JSONValue
        do {
            parsed = try body.withUnsafeReadableBytes { raw throws(JSONParseError) in try JSONParser.parse(raw) }
        } catch {
            throw GatewayError.badRequest("Invalid JSON in request body: \(error).", code: "invalid_json")
        }
        guard case .object(let object) = parsed else {
            throw GatewayError.badRequest("The request body must be a JSON object.", code: "invalid_json")
        }
        return object
    }
}
