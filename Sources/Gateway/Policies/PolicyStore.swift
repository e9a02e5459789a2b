import Foundation
import Logging
import NIOConcurrencyHelpers
import Prometheus
import Router

/// The routing table in force and the forest models it serves. A reload parses every policy
/// file and loads every changed model first, and swaps both in only when all of them are
/// valid, so a bad edit or a broken model file never interrupts serving.
public final class PolicyStore: Sendable {
    public let directory: String
    private let environment: [String: String]
    private let current: NIOLockedValueBox<Snapshot>
    private let onReload: NIOLockedValueBox<[@Sendable (RoutingTable) -> Void]>
    private let tabularMetrics: TabularMetrics
    private let logger: Logger
    private let reloading = NIOLock()

    struct Snapshot {
        var table: RoutingTable
        var forests: ForestCatalog
        var languageModels: LanguageModelCatalog
    }

    /// Loads the models `initial` names; throws `ConfigErrors` if a forest does not load (a
    /// language model that does not load leaves its backend unavailable and is logged).
    init(directory: String, environment: [String: String], initial: RoutingTable,
         tabularMetrics: TabularMetrics = TabularMetrics(registry: PrometheusCollectorRegistry()),
         logger: Logger = Logger(label: "tollgate.policies", factory: { _ in SwiftLogNoOpLogHandler() })) throws {
        self.directory = directory
        self.environment = environment
        self.tabularMetrics = tabularMetrics
        self.logger = logger
        let forests = try ForestCatalog.load(table: initial, previous: .empty, metrics: tabularMetrics).get()
        let languageModels = LanguageModelCatalog.load(
            table: initial, previous: .empty, registry: tabularMetrics.registry, logger: logger)
        self.current = NIOLockedValueBox(Snapshot(table: initial, forests: forests, languageModels: languageModels))
        self.onReload = NIOLockedValueBox([])
        Self.markLoaded(forests, replacing: .empty, metrics: tabularMetrics)
    }

    public var table: RoutingTable { current.withLockedValue { $0.table } }
    var forests: ForestCatalog { current.withLockedValue { $0.forests } }
    var languageModels: LanguageModelCatalog { current.withLockedValue { $0.languageModels } }
    /// The table and its models, read together.
    var snapshot: Snapshot { current.withLockedValue { $0 } }

    /// Runs after every successful reload (the gateway drops raw-key aliases there).
    public func observeReloads(_ observer: @escaping @Sendable (RoutingTable) -> Void) {
        onReload.withLockedValue { $0.append(observer) }
    }

    /// Re-reads the folder. On failure the old table stays and the problems are returned.
    @discardableResult
    public func reload() -> Result<RoutingTable, ConfigErrors> {
        // One reload at a time (SIGHUP, the watcher and the admin API can coincide), so each
        // retires exactly the models the one before it installed.
        reloading.withLock { reloadLocked() }
    }

    private func reloadLocked() -> Result<RoutingTable, ConfigErrors> {
        let table: RoutingTable
        switch Self.load(directory: directory, environment: environment) {
        case .success(let loaded): table = loaded
        case .failure(let errors): return .failure(errors)
        }
        let previous = snapshot
        let forests: ForestCatalog
        switch ForestCatalog.load(table: table, previous: previous.forests, metrics: tabularMetrics) {
        case .success(let loaded): forests = loaded
        case .failure(let errors): return .failure(errors)
        }
        let languageModels = LanguageModelCatalog.load(
            table: table, previous: previous.languageModels, registry: tabularMetrics.registry, logger: logger)
        current.withLockedValue { $0 = Snapshot(table: table, forests: forests, languageModels: languageModels) }
        Self.markLoaded(forests, replacing: previous.forests, metrics: tabularMetrics)
        previous.languageModels.retire(replacedBy: languageModels)
        for observer in onReload.withLockedValue({ $0 }) { observer(table) }
        return .success(table)
    }

    /// Models replaced or dropped finish what they hold and stop; the gauge follows.
    private static func markLoaded(_ forests: ForestCatalog, replacing previous: ForestCatalog, metrics: TabularMetrics) {
        for old in previous.retired(by: forests) {
            old.batcher.retire()
            metrics.modelLoaded(backend: old.backend, format: old.format.rawValue, version: old.version).set(to: 0)
        }
        for served in forests.forests.values {
            metrics.modelLoaded(backend: served.backend, format: served.format.rawValue, version: served.version).set(to: 1)
        }
    }

    /// Stops every engine thread (the gateway is shutting down).
    func shutdownEngines() {
        languageModels.shutdown()
    }

    /// `check-config`: the policies and every model file they name, loaded and validated.
    public static func check(directory: String, environment: [String: String]) -> Result<(RoutingTable, models: Int), ConfigErrors> {
        switch load(directory: directory, environment: environment) {
        case .failure(let errors):
            return .failure(errors)
        case .success(let table):
            let metrics = TabularMetrics(registry: PrometheusCollectorRegistry())
            switch ForestCatalog.load(table: table, previous: .empty, metrics: metrics) {
            case .failure(let errors): return .failure(errors)
            case .success(let forests):
                let logger = Logger(label: "tollgate.check", factory: { _ in SwiftLogNoOpLogHandler() })
                let languageModels = LanguageModelCatalog.load(
                    table: table, previous: .empty, registry: metrics.registry, logger: logger)
                languageModels.shutdown()
                var problems = languageModels.failures.keys.sorted().compactMap { name -> ConfigProblem? in
                    guard let backend = table.backends[name], let message = languageModels.failures[name] else { return nil }
                    return ConfigProblem(file: backend.file, line: backend.line, key: "backends.\(name).file", reason: message)
                }
                for (route, reason) in languageModels.kindMismatches(in: table) {
                    problems.append(ConfigProblem(file: route.file, line: route.line, key: "routes.\(route.name).backends", reason: reason))
                }
                if !problems.isEmpty { return .failure(ConfigErrors(problems)) }
                return .success((table, forests.forests.count + languageModels.count))
            }
        }
    }

    /// Reads and validates every `*.toml` file in `directory`, in name order.
    public static func load(directory: String, environment: [String: String]) -> Result<RoutingTable, ConfigErrors> {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".toml") && !$0.hasPrefix(".") }
                .sorted()
        } catch {
            return .failure(
                ConfigErrors([
                    ConfigProblem(file: directory, line: nil, key: "", reason: "cannot read the policies folder: \(error.localizedDescription)")
                ])
            )
        }
        var sources: [PolicySource] = []
        var problems: [ConfigProblem] = []
        for name in files {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else {
                problems.append(ConfigProblem(file: path, line: nil, key: "", reason: "cannot read the file"))
                continue
            }
            guard let text = String(data: data, encoding: .utf8) else {
                problems.append(ConfigProblem(file: path, line: nil, key: "", reason: "the file is not valid UTF-8"))
                continue
            }
            sources.append(PolicySource(path: path, text: text))
        }
        if !problems.isEmpty { return .failure(ConfigErrors(problems)) }
        switch PolicyLoader.load(sources: sources, environment: environment) {
        case .success(let table):
            return .success(table)
        case .failure(let errors):
            return .failure(
                ConfigErrors(
                    errors.errors.map { ConfigProblem(file: $0.file, line: $0.line, key: $0.key, reason: $0.reason) }
                )
            )
        }
    }

    /// A fingerprint of the folder (names, sizes, modification times) for change detection.
    func fingerprint() -> String {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return "" }
        var parts: [String] = []
        for name in names.sorted() where name.hasSuffix(".toml") {
            let path = (directory as NSString).appendingPathComponent(name)
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            parts.append("\(name):\(size):\(modified)")
        }
        // Model files too: replacing one hot-swaps it.
        let snapshot = self.snapshot
        for loaded in snapshot.forests.fingerprints {
            parts.append(FileFingerprint(path: loaded.path).description)
        }
        for path in snapshot.languageModels.watchedPaths {
            parts.append(FileFingerprint(path: path).description)
        }
        return parts.joined(separator: "|")
    }
}
