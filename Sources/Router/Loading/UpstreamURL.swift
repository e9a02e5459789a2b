/// Checks a backend's base URL: `http` or `https`, a host, and a path ending in `/v1`
/// (the gateway appends `/chat/completions` and friends). Hand-rolled rather than
/// Foundation's `URL`, which accepts far more than an upstream base URL should be.
enum UpstreamURL {
    /// The URL without a trailing slash, or why it is not acceptable.
    static func validate(_ text: String) -> Result<String, Problem> {
        let lowered = text.lowercased()
        let schemeLength: Int
        if lowered.hasPrefix("http://") {
            schemeLength = 7
        } else if lowered.hasPrefix("https://") {
            schemeLength = 8
        } else {
            return .failure(Problem("'\(text)' is not an http:// or https:// URL"))
        }
        if text.contains(where: { $0.isWhitespace }) {
            return .failure(Problem("'\(text)' contains whitespace"))
        }
        if text.contains("?") || text.contains("#") {
            return .failure(Problem("'\(text)' must not have a query or fragment"))
        }
        let rest = text.dropFirst(schemeLength)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        if authority.contains("@") {
            return .failure(Problem("'\(text)' carries credentials; put the key in the variable named by api_key_env"))
        }
        guard isValidAuthority(authority) else {
            return .failure(Problem("'\(text)' has no valid host[:port]"))
        }
        let trimmed = path.hasSuffix("/") ? path.dropLast() : path
        guard trimmed.hasSuffix("/v1") else {
            return .failure(Problem("'\(text)' must end in /v1 (the API's base URL, e.g. http://127.0.0.1:8000/v1)"))
        }
        return .success(String(text.dropLast(path.count - trimmed.count)))
    }

    struct Problem: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// `host`, `host:port` or `[ipv6]:port`, with a port in 1...65535.
    private static func isValidAuthority(_ authority: Substring) -> Bool {
        var host = authority
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return false }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return false }
                port = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = authority[authority.index(after: colon)...]
        }
        guard !host.isEmpty else { return false }
        if let port {
            guard let number = Int(port), (1...65535).contains(number) else { return false }
        }
        return true
    }
}
