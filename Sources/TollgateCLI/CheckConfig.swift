import ArgumentParser
import Foundation
import Gateway

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate config.toml, every policy file and the model files they name; print each problem with file, line and key."
    )

    @Option(name: .long, help: "Configuration file.")
    var config: String = "config.toml"

    func run() async throws {
        let gatewayConfig = try ConfigLoading.load(path: config)
        let directory = gatewayConfig.resolve(gatewayConfig.server.policiesDir)
        switch PolicyStore.check(directory: directory, environment: ProcessInfo.processInfo.environment) {
        case .success(let (table, models)):
            print(
                "ok: \(config) and \(directory) (\(table.routes.count) routes, \(table.backends.count) backends, "
                    + "\(models) model\(models == 1 ? "" : "s") loaded)")
        case .failure(let errors):
            ConfigLoading.printProblems(errors)
            throw ExitCode(1)
        }
    }
}
