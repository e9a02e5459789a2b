import Foundation
import TollgateJSON

/// The raw scores a fixture's reference library gave (`margins` in case.json: XGBoost's
/// `output_margin=True`, LightGBM's `raw_score=True`), one list per input row.
enum XGBoostFixtureMargins {
    static func read(_ fixture: ForestFixture) throws -> [[Double]] {
        let path = URL(fileURLWithPath: fixture.modelPath).deletingLastPathComponent().appendingPathComponent(
            "case.json"
        )
        let document = try JSONParser.parse([UInt8](Data(contentsOf: path)))
        guard let rows = document["margins"]?.arrayValue else { return [] }
        return rows.map { row in (row.arrayValue ?? [row]).map { $0.doubleValue ?? .nan } }
    }
}
