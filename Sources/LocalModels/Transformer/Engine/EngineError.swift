/// Why the engine did not complete a request.
public struct EngineError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The queue holds as many requests as it may; try again shortly.
        case queueFull = "engine_queue_full"
        /// The prompt (plus at least one generated token) does not fit the context.
        case contextExceeded = "context_length_exceeded"
        /// The caller went away.
        case cancelled
        /// The engine is shutting down.
        case stopped = "engine_stopped"
        /// The model failed while evaluating (for example the KV cache ran out of memory).
        case evaluation = "engine_error"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
