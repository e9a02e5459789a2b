import Cache
import NIOHTTP1

/// Who a request belongs to, for cache scope, when it presents no virtual key (open mode): the
/// client's bearer key, hashed so that the key itself is never stored or logged.
enum TenantResolver {
    static let anonymous = "anonymous"

    static func tenant(for headers: HTTPHeaders) -> String {
        tenant(authorization: headers.first(name: "authorization"))
    }

    static func tenant(authorization: String?) -> String {
        tenant(token: bearerToken(authorization))
    }

    /// The token of `Authorization: Bearer <token>` (or of a bare token); nil when there is none.
    static func bearerToken(_ authorization: String?) -> Substring? {
        guard let authorization else { return nil }
        var token = Substring(authorization)
        if token.count > 7, token.prefix(7).lowercased() == "bearer " { token = token.dropFirst(7) }
        token = token.drop(while: { $0 == " " })
        while token.last == " " { token = token.dropLast() }
        return token.isEmpty ? nil : token
    }

    static func tenant(token: Substring?) -> String {
        guard let token else { return anonymous }
        var hasher = SHA256Hasher()
        hasher.update(String(token))
        return "k-" + hasher.finalize().hex.prefix(16)
    }
}
