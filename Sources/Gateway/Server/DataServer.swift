import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The data-plane listener: NIO's HTTP/1.1 codec, then one `GatewayHandler` per connection,
/// which also orders pipelined requests and answers parser errors.
struct DataServer {
    let address: HostPort
    let group: any EventLoopGroup
    let shared: GatewayContext
    let maxHeaderBytes: Int
    let tracker = ChannelTracker()

    func bind() async throws -> any Channel {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = maxHeaderBytes
        limits.maxHeaderFieldSize = maxHeaderBytes
        let shared = self.shared
        let tracker = self.tracker
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                tracker.track(channel)
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(HTTPResponseEncoder())
                    try sync.addHandler(
                        ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: limits))
                    )
                    try sync.addHandler(GatewayHandler(shared: shared))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }
}
