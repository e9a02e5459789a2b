import Foundation

/// The request's `Cache-Control` directives that Tollgate honours.
struct CacheDirectives: Sendable, Equatable {
    /// Skip the lookup and refresh the entry from the backend.
    var noCache = false
    /// Neither look up nor store.
    var noStore = false
    /// Accept a stored response only if it is at most this old.
    var maxAge: Double?

    static let none = CacheDirectives()

    init() {}

    init(header: String) {
        for part in header.split(separator: ",") {
            let directive = part.trimmingCharacters(in: .whitespaces).lowercased()
            if directive == "no-cache" {
                noCache = true
            } else if directive == "no-store" {
                noStore = true
            } else if directive.hasPrefix("max-age=") {
                var value = directive.dropFirst("max-age=".count)
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
                if let seconds = Double(value), seconds >= 0 { maxAge = seconds }
            }
        }
    }

    /// Whether a stored response may answer at all.
    var allowsLookup: Bool { !noCache && !noStore }
}
