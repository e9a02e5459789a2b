import Cache
import Testing

@testable import Gateway

@Suite struct RowCacheTests {
    @Test func rowsReadBackBitForBit() throws {
        let values: [Double] = [0.1, 1.0 / 3.0, 5e-324, -0.0, 1e308, .nan, .infinity, 0.30000000000000004]
        let body = RowCache.encode(label: 2, values: values)
        #expect(try JSONParser.parse(body)["label_index"]?.intValue == 2)
        let decoded = try #require(RowCache.decode(body, width: values.count))
        #expect(decoded.label == 2)
        for (read, written) in zip(decoded.values, values) {
            #expect(read.bitPattern == written.bitPattern || (read.isNaN && written.isNaN))
        }
        #expect(RowCache.decode(body, width: 3) == nil)
        #expect(RowCache.decode(Array("not json".utf8), width: 1) == nil)
    }

    @Test func keysDependOnScopeRouteModelAndExactBits() {
        let model = CacheKey(words: (1, 2, 3, 4))
        let base = RowCache.key(scope: "t", route: "r", model: model, row: [1.0, 2.0][...])
        #expect(base == RowCache.key(scope: "t", route: "r", model: model, row: [1.0, 2.0][...]))
        #expect(base != RowCache.key(scope: "u", route: "r", model: model, row: [1.0, 2.0][...]))
        #expect(base != RowCache.key(scope: "t", route: "s", model: model, row: [1.0, 2.0][...]))
        #expect(base != RowCache.key(scope: "t", route: "r", model: CacheKey(words: (1, 2, 3, 5)), row: [1.0, 2.0][...]))
        #expect(base != RowCache.key(scope: "t", route: "r", model: model, row: [1.0, 2.0.nextUp][...]))
        #expect(base != RowCache.key(scope: "t", route: "r", model: model, row: [2.0, 1.0][...]))
    }
}
