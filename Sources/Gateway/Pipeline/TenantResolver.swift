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
        // "Bearer " in any case, compared on bytes (no per-request lowercased copy).
        let utf8 = token.utf8
        if utf8.count > 7, zip(utf8.prefix(7), "bearer ".utf8).allSatisfy({ $0 | 0x20 == $1 }) {
            token = token.dropFirst(7)
        }
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
