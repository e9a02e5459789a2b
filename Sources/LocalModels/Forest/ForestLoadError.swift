/// Why a model file could not be loaded: the file, the part of it, and the reason.
///
/// `part` locates the problem in the format's own terms ("node 0 (TreeEnsembleClassifier)
/// attribute nodes_modes", "learner.gradient_booster.model.trees[3].split_conditions",
/// "Tree=5 line 1234") so that whoever exported the file can find it.
public struct ForestLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var part: String
    public var reason: String

    public init(file: String, part: String, reason: String) {
        self.file = file
        self.part = part
        self.reason = reason
    }

    public var description: String {
        part.isEmpty ? "\(file): \(reason)" : "\(file): \(part): \(reason)"
    }
}
