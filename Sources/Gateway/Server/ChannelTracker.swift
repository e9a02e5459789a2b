import NIOConcurrencyHelpers
import NIOCore

/// The open child connections of a listener, so that shutdown can close idle keep-alive
/// connections once in-flight requests have drained.
final class ChannelTracker: Sendable {
    private let channels = NIOLockedValueBox([ObjectIdentifier: any Channel]())

    func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLockedValue { $0[id] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.channels.withLockedValue { _ = $0.removeValue(forKey: id) }
        }
    }

    var count: Int { channels.withLockedValue { $0.count } }

    func closeAll() {
        for channel in channels.withLockedValue({ Array($0.values) }) {
            channel.close(promise: nil)
        }
    }
}
