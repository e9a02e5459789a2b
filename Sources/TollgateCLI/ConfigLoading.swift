import ArgumentParser
import Foundation
import Gateway
import Logging

/// Reading `config.toml` for the commands, with problems printed as `file:line: key: reason`.
enum ConfigLoading {
    static func load(path: String) throws -> GatewayConfig {
        do {
            return try GatewayConfig.load(path: path)
        } catch {
            printProblems(error)
            throw ExitCode(1)
        }
    }

    static func printProblems(_ errors: ConfigErrors) {
        for problem in errors.problems {
            FileHandle.standardError.write(Data("\(problem)\n".utf8))
        }
    }

    static func bootstrapLogging(level: String) -> Logger {
        let logLevel = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        var logger = Logger(label: "tollgate")
        logger.logLevel = logLevel
        return logger
    }
}
