/// Dollar amounts in headers: fixed point with 8 decimals ("0.00012500"), written without
/// Foundation's formatter since a cache hit writes one.
enum USD {
    static let zero = "0.00000000"

    static func format(_ amount: Double) -> String {
        guard amount.isFinite, amount > 0 else { return zero }
        guard amount < 1e10 else { return String(amount) }
        let scaled = UInt64((amount * 1e8).rounded())
        let whole = String(scaled / 100_000_000)
        let fraction = String(scaled % 100_000_000)
        return whole + "." + String(repeating: "0", count: 8 - fraction.count) + fraction
    }
}
