/// Collects the problems of one policy file, each placed on its line.
///
/// A reference type so that the readers of every part of the file, and the cross-file
/// checks after them, add to one list without threading it through every call.
/// Lives only for the duration of one load.
final class PolicyDiagnostics {
    let file: String
    let locator: TOMLLineLocator
    private(set) var errors: [PolicyError] = []

    init(file: String, text: String) {
        self.file = file
        self.locator = TOMLLineLocator(text: text)
    }

    /// Reports a problem with `path`, placed on the line of `linePath` (default: `path`,
    /// or its nearest defined parent when the key is missing).
    func report(_ code: PolicyError.Code, at path: TOMLKeyPath, line linePath: TOMLKeyPath? = nil, _ reason: String) {
        let line = locator.nearestLine(for: linePath ?? path)
        errors.append(PolicyError(code: code, file: file, line: line, key: path.description, reason: reason))
    }

    /// Reports a problem that has no key, such as a syntax error.
    func report(_ error: PolicyError) {
        errors.append(error)
    }

    /// `file:line` of `path`, for "first defined at ..." notes.
    func location(of path: TOMLKeyPath) -> String {
        locator.nearestLine(for: path).map { "\(file):\($0)" } ?? file
    }
}
