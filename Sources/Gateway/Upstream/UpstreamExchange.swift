import AsyncHTTPClient
import Cache
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// What one upstream exchange produced.
enum ExchangeResult: Sendable {
    /// A whole body (any status, or a 2xx that was not an event stream).
    case collected(status: Int, body: [UInt8])
    /// A 2xx event stream, relayed event by event as it arrived. `complete` is false when
    /// the stream ended without `[DONE]` or carried an error event: nothing may be stored.
    case streamed(events: [[UInt8]], usageEventIndex: Int?, assembled: [UInt8]?, complete: Bool)
}

/// Receives one upstream response on the event loop that owns both its connection and the
/// client's: a streamed answer is parsed and published to the flight right there, without a
/// hop into Swift concurrency per chunk.
final class UpstreamExchange: HTTPClientResponseDelegate, Sendable {
    typealias Response = ExchangeResult

    private let flight: Flight?
    private let backend: String
    private let maxBodyBytes: Int
    private let state: NIOLockedValueBox<State>

    private struct State {
        var status = 0
        var relaying = false
        var body: [UInt8] = []
        var parser = SSEParser()
        var assembler: CompletionAssembler
        var events: [[UInt8]] = []
        var usageEventIndex: Int?
        var sawDone = false
        var sawError = false
    }

    /// `flight` is given when the call asked for a stream: a 2xx event stream is relayed to it.
    init(flight: Flight?, backend: String, endpoint: String, maxBodyBytes: Int) {
        self.flight = flight
        self.backend = backend
        self.maxBodyBytes = maxBodyBytes
        self.state = NIOLockedValueBox(State(assembler: CompletionAssembler(endpoint: endpoint)))
    }

    /// Whether events already reached clients (then a failure can no longer fall back).
    var streamStarted: Bool { state.withLockedValue { $0.relaying } }

    func didReceiveHead(task: HTTPClient.Task<ExchangeResult>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        let status = Int(head.status.code)
        let isStream = head.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true
        let relay = flight != nil && (200..<300).contains(status) && isStream
        state.withLockedValue {
            $0.status = status
            $0.relaying = relay
        }
        if relay { flight?.publish(.streamStarted(backend: backend)) }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<ExchangeResult>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        let outcome = state.withLockedValue { state -> Result<[([UInt8], Bool)], UpstreamFailure> in
            guard state.relaying else {
                guard state.body.count + buffer.readableBytes <= maxBodyBytes else {
                    return .failure(UpstreamFailure(kind: .other, detail: "response larger than \(maxBodyBytes) bytes"))
                }
                state.body.append(contentsOf: buffer.readableBytesView)
                return .success([])
            }
            let payloads: [[UInt8]]
            do {
                payloads = try state.parser.feed(buffer.readableBytesView)
            } catch {
                return .failure(UpstreamFailure(kind: .other, detail: "an event exceeds the size limit"))
            }
            var out: [([UInt8], Bool)] = []
            for payload in payloads {
                if payload.elementsEqual("[DONE]".utf8) {
                    state.sawDone = true
                    continue
                }
                let parsed = try? JSONParser.parse(payload)
                if parsed?["error"] != nil { state.sawError = true }
                let isUsage = parsed?["usage"].map { $0 != .null } == true
                    && (parsed?["choices"]?.arrayValue?.isEmpty ?? true)
                if isUsage { state.usageEventIndex = state.events.count }
                state.events.append(payload)
                try? state.assembler.add(event: payload)
                out.append((payload, isUsage))
            }
            return .success(out)
        }
        switch outcome {
        case .success(let events):
            for (payload, isUsage) in events { flight?.publish(.event(payload, isUsage: isUsage)) }
            return task.eventLoop.makeSucceededVoidFuture()
        case .failure(let failure):
            return task.eventLoop.makeFailedFuture(failure)
        }
    }

    func didReceiveError(task: HTTPClient.Task<ExchangeResult>, _ error: any Error) {}

    func didFinishRequest(task: HTTPClient.Task<ExchangeResult>) throws -> ExchangeResult {
        state.withLockedValue { state in
            guard state.relaying else { return .collected(status: state.status, body: state.body) }
            let complete = state.sawDone && !state.sawError
            return .streamed(
                events: state.events,
                usageEventIndex: state.usageEventIndex,
                assembled: complete ? try? state.assembler.assembled() : nil,
                complete: complete
            )
        }
    }
}
