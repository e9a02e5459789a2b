import Cache
import NIOConcurrencyHelpers

/// What a backend call produces, in order, for every client waiting on it.
enum FlightEvent: Sendable {
    /// The backend answered 2xx with an event stream; events follow.
    case streamStarted(backend: String)
    /// One SSE `data:` payload. `isUsage` marks the usage-only chunk.
    case event([UInt8], isUsage: Bool)
    /// Terminal.
    case finished(FlightResult)
}

enum FlightResult: Sendable {
    /// A complete 2xx response; `stored` says whether the cache kept it.
    case success(CachedResponse, stored: Bool, backend: String)
    /// The backend's own non-2xx answer, relayed and never stored.
    case upstreamError(status: Int, body: [UInt8], backend: String)
    /// No usable answer: unreachable, timed out, died mid-stream, not configured.
    case failed(GatewayError, backend: String)
}

/// One backend call shared by every identical request that arrives while it runs.
///
/// Subscribers get the events published so far, then the live ones, through their own
/// `AsyncStream`, so each client is written in order by its own task. When the last
/// subscriber leaves before the call ends, the call is cancelled.
final class Flight: Sendable {
    let key: CacheKey
    /// Whether the backend call asks for an event stream.
    let streaming: Bool
    private let state = NIOLockedValueBox(State())

    private struct State {
        var history: [FlightEvent] = []
        var subscribers: [Int: AsyncStream<FlightEvent>.Continuation] = [:]
        var nextID = 0
        var finished = false
        var task: Task<Void, Never>?
        var everSubscribed = false
    }

    init(key: CacheKey, streaming: Bool) {
        self.key = key
        self.streaming = streaming
    }

    /// Attaches the task that runs the backend call, so that it can be cancelled.
    func attach(_ task: Task<Void, Never>) {
        let cancelNow = state.withLockedValue { state -> Bool in
            state.task = task
            return state.everSubscribed && state.subscribers.isEmpty && !state.finished
        }
        if cancelNow { task.cancel() }
    }

    /// A stream of every event of this flight, from the first. Never fails; a flight
    /// that has finished replays its history and ends.
    func subscribe() -> AsyncStream<FlightEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: FlightEvent.self, bufferingPolicy: .unbounded)
        let id = state.withLockedValue { state -> Int? in
            state.everSubscribed = true
            for event in state.history { continuation.yield(event) }
            if state.finished { return nil }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = continuation
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        return stream
    }

    private func unsubscribe(_ id: Int) {
        let task = state.withLockedValue { state -> Task<Void, Never>? in
            state.subscribers[id] = nil
            guard state.subscribers.isEmpty, !state.finished else { return nil }
            return state.task
        }
        task?.cancel()
    }

    var subscriberCount: Int { state.withLockedValue { $0.subscribers.count } }

    func publish(_ event: FlightEvent) {
        // `finish()` runs each stream's onTermination, which takes the lock again: call it
        // only after the lock is released.
        let ending = state.withLockedValue { state -> [AsyncStream<FlightEvent>.Continuation] in
            guard !state.finished else { return [] }
            state.history.append(event)
            for continuation in state.subscribers.values { continuation.yield(event) }
            guard case .finished = event else { return [] }
            state.finished = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for continuation in ending { continuation.finish() }
    }
}

/// Identical misses in flight, by cache key: the first caller leads, the rest join.
final class FlightTable: Sendable {
    private let flights = NIOLockedValueBox([CacheKey: Flight]())

    /// Returns the flight for `key` and whether the caller joined one already running.
    /// `start` runs only for a new flight, outside the lock.
    func join(key: CacheKey, streaming: Bool, start: (Flight) -> Task<Void, Never>) -> (Flight, collapsed: Bool) {
        let (flight, isNew) = flights.withLockedValue { flights -> (Flight, Bool) in
            if let existing = flights[key] { return (existing, false) }
            let flight = Flight(key: key, streaming: streaming)
            flights[key] = flight
            return (flight, true)
        }
        if isNew { flight.attach(start(flight)) }
        return (flight, !isNew)
    }

    /// Removes a finished flight (only if it is still the one registered for its key).
    func remove(_ flight: Flight) {
        flights.withLockedValue { flights in
            if flights[flight.key] === flight { flights[flight.key] = nil }
        }
    }

    var count: Int { flights.withLockedValue { $0.count } }
}
