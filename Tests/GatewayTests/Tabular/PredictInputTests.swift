import Cache
import Testing

@testable import Gateway

@Suite struct PredictInputTests {
    let served = TabularFixtures.served()

    func rows(_ json: String) throws -> PredictRows {
        let inputs = try JSONParser.parse(json)
        return try PredictInput.rows(inputs, forest: served, model: "toy")
    }

    func error(_ json: String) -> GatewayError? {
        do {
            _ = try rows(json)
            return nil
        } catch let error as GatewayError {
            return error
        } catch {
            return nil
        }
    }

    @Test func arraysAndObjectsGiveTheSameRowMajorValues() throws {
        let arrays = try rows("[[1, 2.5], [-3e2, 0]]")
        let objects = try rows(#"[{"y": 2.5, "x": 1}, {"x": -300, "y": 0}]"#)
        #expect(arrays.count == 2)
        #expect(arrays.values == [1, 2.5, -300, 0])
        #expect(objects.values == arrays.values)
    }

    @Test func nullIsAMissingValue() throws {
        let parsed = try rows(#"[[null, 1], {"x": 2, "y": null}]"#)
        #expect(parsed.values[0].isNaN)
        #expect(parsed.values[1] == 1)
        #expect(parsed.values[3].isNaN)
    }

    @Test func wrongWidthNamesTheRowAndTheExpectedFeatures() throws {
        let failure = try #require(error("[[1, 2], [1, 2, 3]]"))
        #expect(failure.status.code == 400)
        #expect(failure.param == "inputs[1]")
        #expect(failure.message.contains("has 3 values"))
        #expect(failure.message.contains("takes 2 features per row (x, y)"))
    }

    @Test func unknownAndMissingFeatureNamesAreReported() throws {
        let unknown = try #require(error(#"[{"x": 1, "y": 2, "z": 3}]"#))
        #expect(unknown.message.contains("unknown feature 'z'"))
        #expect(unknown.message.contains("takes: x, y"))
        let missing = try #require(error(#"[{"x": 1}]"#))
        #expect(missing.message.contains("lacks feature y"))
    }

    @Test func nonNumbersAreRejectedWithTheirPath() throws {
        let text = try #require(error(#"[[1, "2"]]"#))
        #expect(text.param == "inputs[0][1]")
        #expect(text.code == "invalid_type")
        let flag = try #require(error("[[1, true]]"))
        #expect(flag.param == "inputs[0][1]")
        let flat = try #require(error("[1, 2]"))
        #expect(flat.message.contains("wrap each row"))
        #expect(error("[]")?.message.contains("no rows") == true)
        #expect(error(#"{"x": 1}"#)?.message.contains("must be an array of rows") == true)
    }

    @Test func objectsNeedFeatureNames() throws {
        let unnamed = TabularFixtures.served(featureNames: nil)
        #expect(throws: GatewayError.self) {
            try PredictInput.rows(try JSONParser.parse(#"[{"x": 1, "y": 2}]"#), forest: unnamed, model: "toy")
        }
    }
}
