/// Who sent a request, once its key has been checked: the tenant (cache scope, budgets,
/// logs) and the virtual key it presented, if any.
struct Caller: Sendable {
    var tenant: String
    var key: VirtualKey?
    /// The key's own limits, made once per key rather than per request.
    var keySubject: LimitSubject?

    static let anonymous = Caller(tenant: TenantResolver.anonymous)

    init(tenant: String, key: VirtualKey? = nil, subject: LimitSubject? = nil) {
        self.tenant = tenant
        self.key = key
        keySubject = subject ?? key.map(LimitSubject.init(key:))
    }

    /// The key's id, or "" when the caller came without one (open mode).
    var keyID: String { key?.id ?? "" }
}

/// What the rate limits said about a request, for the `x-ratelimit-*` headers: the tightest
/// requests-per-minute and tokens-per-minute windows that apply.
struct RateReport: Sendable, Hashable {
    var requests: RateWindow.Status?
    var tokens: RateWindow.Status?

    var isEmpty: Bool { requests == nil && tokens == nil }

    /// Keeps whichever status leaves less room.
    static func tighter(_ a: RateWindow.Status?, _ b: RateWindow.Status) -> RateWindow.Status {
        guard let a else { return b }
        return b.remaining < a.remaining || (b.remaining == a.remaining && b.resetSeconds > a.resetSeconds) ? b : a
    }

    /// OpenAI's header set; each half only when a limit of that kind applies.
    var headers: [(String, String)] {
        var out: [(String, String)] = []
        if let requests {
            out.append(("x-ratelimit-limit-requests", String(requests.limit)))
            out.append(("x-ratelimit-remaining-requests", String(requests.remaining)))
            out.append(("x-ratelimit-reset-requests", Self.duration(requests.resetSeconds)))
        }
        if let tokens {
            out.append(("x-ratelimit-limit-tokens", String(tokens.limit)))
            out.append(("x-ratelimit-remaining-tokens", String(tokens.remaining)))
            out.append(("x-ratelimit-reset-tokens", Self.duration(tokens.resetSeconds)))
        }
        return out
    }

    /// Durations as OpenAI writes them: "20ms", "1.5s", "6m0s", "1h2m3s".
    static func duration(_ seconds: Double) -> String {
        let seconds = max(0, seconds)
        if seconds < 1 { return "\(Int((seconds * 1000).rounded(.up)))ms" }
        if seconds < 60 {
            let tenths = (seconds * 10).rounded(.up) / 10
            return tenths == tenths.rounded() ? "\(Int(tenths))s" : "\(tenths)s"
        }
        let whole = Int(seconds.rounded(.up))
        let (hours, rest) = whole.quotientAndRemainder(dividingBy: 3600)
        let (minutes, secs) = rest.quotientAndRemainder(dividingBy: 60)
        return hours > 0 ? "\(hours)h\(minutes)m\(secs)s" : "\(minutes)m\(secs)s"
    }
}
