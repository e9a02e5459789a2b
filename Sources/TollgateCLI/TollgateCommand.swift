import ArgumentParser


struct Tollgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tollgate",
        abstract: "A response-caching gateway for machine-learning inference.",
        subcommands: [
            Serve.self, CheckConfig.self, CacheCommand.self, PoliciesCommand.self, PredictCommand.self, TokenizeCommand.self,
            GenerateCommand.self, EmbedCommand.self, BenchCommand.self, KeysCommand.self, SpendCommand.self,
        ],
        defaultSubcommand: Serve.self
    )
}
