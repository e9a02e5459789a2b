import ArgumentParser
import Foundation
import Gateway

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate config.toml and every policy file; print each problem with file, line and key."
    )

    @Option(name: .long, help: "Configuration file.")
    var config: String = "config.toml"

    func run() async throws {
        let gatewayConfig = try ConfigLoading.load(path: config)
        let directory = gatewayConfig.resolve(gatewayConfig.server.policiesDir)
        switch PolicyStore.load(directory: directory, environment: ProcessInfo.processInfo.environment) {
        case .success(let table):
            print("ok: \(config) and \(directory) (\(table.routes.count) routes, \(table.backends.count) backends)")
        case .failure(let errors):
            ConfigLoading.printProblems(errors)
            throw ExitCode(1)
        }
    }
}
