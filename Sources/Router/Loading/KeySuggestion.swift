/// "Did you mean ...?" for misspelled keys, by edit distance.
enum KeySuggestion {
    /// The candidate within two edits of `key` (closest first), if any.
    static func closest(to key: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, distance(Array(key.utf8), Array($0.utf8))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= min(2, max(1, key.utf8.count / 3)) else {
            return nil
        }
        return best.0
    }

    /// Damerau–Levenshtein distance (optimal string alignment), so a swapped pair of
    /// letters such as `modles` costs one edit.
    static func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var best = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    best = min(best, table[i - 2][j - 2] + 1)
                }
                table[i][j] = best
            }
        }
        return table[a.count][b.count]
    }
}
