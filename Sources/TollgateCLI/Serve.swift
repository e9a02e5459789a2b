import ArgumentParser
import Foundation
import Gateway
import Logging
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway.")

    @Option(name: .long, help: "Configuration file.")
    var config: String = "config.toml"

    @Option(name: .long, help: "Data plane address HOST:PORT (overrides server.listen).")
    var listen: String?

    @Option(name: .customLong("admin-listen"), help: "Admin plane address HOST:PORT (overrides server.admin_listen).")
    var adminListen: String?

    func run() async throws {
        var gatewayConfig = try ConfigLoading.load(path: config)
        if let listen {
            guard let address = HostPort(parsing: listen) else {
                throw ValidationError("--listen expects HOST:PORT, got '\(listen)'")
            }
            gatewayConfig.server.listen = address
        }
        if let adminListen {
            guard let address = HostPort(parsing: adminListen) else {
                throw ValidationError("--admin-listen expects HOST:PORT, got '\(adminListen)'")
            }
            gatewayConfig.server.adminListen = address
        }
        let logger = ConfigLoading.bootstrapLogging(level: gatewayConfig.log.level)
        let service: GatewayService
        do {
            service = try GatewayService(
                config: gatewayConfig,
                environment: ProcessInfo.processInfo.environment,
                logger: logger
            )
        } catch let errors as ConfigErrors {
            ConfigLoading.printProblems(errors)
            throw ExitCode(1)
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: service)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch let error as StartupError {
            FileHandle.standardError.write(Data("tollgate: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
