import Cache
import NIOHTTP1

/// Who a request belongs to, for cache scope. Until virtual keys exist, the tenant is the
/// client's bearer key, hashed so that the key itself is never stored or logged.
enum TenantResolver {
    static let anonymous = "anonymous"

    static func tenant(for headers: HTTPHeaders) -> String {
        tenant(authorization: headers.first(name: "authorization"))
    }

    static func tenant(authorization: String?) -> String {
        guard let authorization else { return anonymous }
        var token = Substring(authorization)
        if token.count > 7, token.prefix(7).lowercased() == "bearer " { token = token.dropFirst(7) }
        token = token.drop(while: { $0 == " " })
        guard !token.isEmpty else { return anonymous }
        var hasher = SHA256Hasher()
        hasher.update(String(token))
        return "k-" + hasher.finalize().hex.prefix(16)
    }
}
