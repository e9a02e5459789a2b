import NIOCore
import NIOHTTP1
import NIOPosix

/// The admin-plane listener.
struct AdminServer {
    let address: HostPort
    let group: any EventLoopGroup
    let api: AdminAPI
    let access: AdminAccess

    func bind() async throws -> any Channel {
        let api = self.api
        let access = self.access
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminHandler(api: api, access: access))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }
}
