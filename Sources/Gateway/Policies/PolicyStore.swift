import Foundation
import Logging
import NIOConcurrencyHelpers
import Router

/// The routing table in force. A reload parses every policy file first and swaps the table
/// only when all of them are valid, so a bad edit never interrupts serving.
public final class PolicyStore: Sendable {
    public let directory: String
    private let environment: [String: String]
    private let current: NIOLockedValueBox<RoutingTable>
    private let onReload: NIOLockedValueBox<[@Sendable (RoutingTable) -> Void]>

    public init(directory: String, environment: [String: String], initial: RoutingTable) {
        self.directory = directory
        self.environment = environment
        self.current = NIOLockedValueBox(initial)
        self.onReload = NIOLockedValueBox([])
    }

    public var table: RoutingTable { current.withLockedValue { $0 } }

    /// Runs after every successful reload (the gateway drops raw-key aliases there).
    public func observeReloads(_ observer: @escaping @Sendable (RoutingTable) -> Void) {
        onReload.withLockedValue { $0.append(observer) }
    }

    /// Re-reads the folder. On failure the old table stays and the problems are returned.
    @discardableResult
    public func reload() -> Result<RoutingTable, ConfigErrors> {
        let result = Self.load(directory: directory, environment: environment)
        if case .success(let table) = result {
            current.withLockedValue { $0 = table }
            for observer in onReload.withLockedValue({ $0 }) { observer(table) }
        }
        return result
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
        return parts.joined(separator: "|")
    }
}
