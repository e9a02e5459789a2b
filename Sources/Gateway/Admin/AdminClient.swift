import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// What `tollgate cache ...` and friends use to call a running gateway's admin API.
public struct AdminClient: Sendable {
    public var baseURL: String
    public var token: String?

    public init(baseURL: String, token: String?) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
    }

    /// Sends one request; returns the status and body.
    public func send(method: String, path: String, body: [UInt8]? = nil) async throws -> (status: Int, body: [UInt8]) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = HTTPMethod(rawValue: method)
        if let token, !token.isEmpty { request.headers.add(name: "authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let collected = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return (Int(response.status.code), Array(buffer: collected))
    }
}
