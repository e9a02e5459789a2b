/// An index that lives beside the response cache and must forget what a purge removes.
public protocol CacheSideIndex: Sendable {
    /// Drops the records `selector` matches; returns how many went.
    @discardableResult
    func purge(_ selector: PurgeSelector, now: Double) -> Int
}
